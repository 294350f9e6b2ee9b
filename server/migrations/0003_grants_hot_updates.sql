-- A refresh rotates its grant: `generation` and `rotated_at` change at every refresh. With
-- no index on either column (and room left on each page), PostgreSQL updates the row in
-- place (a heap-only tuple update) instead of inserting into every index of the table.
-- Pruning idle grants (`rotated_at <= $2`, once a minute) scans the table instead.
DROP INDEX grants_by_rotation;
ALTER TABLE grants SET (fillfactor = 70);
