//! Paging through the admin API's list calls.

use super::CliError;

/// Gathers every page of a list call. `fetch(page_token)` asks for one page (the first with an
/// empty token) and returns its items and the next page's token, which is empty after the last
/// page.
pub async fn collect_pages<T>(
    mut fetch: impl AsyncFnMut(String) -> Result<(Vec<T>, String), CliError>,
) -> Result<Vec<T>, CliError> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let (items, next_page_token) = fetch(page_token).await?;
        all.extend(items);
        if next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = next_page_token;
    }
}
