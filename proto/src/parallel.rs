//! CPU-bound work (key generation, signatures, chain checks) spread over the cores on
//! tokio's blocking pool, so the runtime's workers stay free for I/O. Used by the server
//! (a batch's CSR verification and signing) and the agent (a batch's keys and checks).

use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};

/// Fewer items than this per chunk are not worth a thread hop.
const MIN_CHUNK: usize = 8;

/// The cores, read once: `available_parallelism` reads the cgroup quota files on every
/// call, and this runs for every batch.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// Maps `items` through `f` on the blocking pool, one chunk per core; results in order.
/// Fails only when a chunk's worker panicked or was cancelled.
pub async fn map_blocking<T, R, F>(items: Vec<T>, f: F) -> Result<Vec<R>, tokio::task::JoinError>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    let cores = cores();
    let per_chunk = items.len().div_ceil(cores).max(MIN_CHUNK);
    let total = items.len();
    let f = Arc::new(f);
    let mut handles = Vec::with_capacity(cores);
    let mut items = items.into_iter();
    loop {
        let chunk: Vec<T> = items.by_ref().take(per_chunk).collect();
        if chunk.is_empty() {
            break;
        }
        let f = f.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            chunk.into_iter().map(&*f).collect::<Vec<R>>()
        }));
    }
    let mut out = Vec::with_capacity(total);
    for handle in handles {
        out.extend(handle.await?);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn results_keep_the_input_order() {
        for n in [0, 1, 7, 8, 9, 100, 1001] {
            let items: Vec<usize> = (0..n).collect();
            let out = map_blocking(items, |i| i * 2).await.unwrap();
            assert_eq!(out, (0..n).map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
