//! The process `chatctl` runs in: a tokio runtime with a bounded pool of
//! blocking threads, and no transparent huge pages, so that `chatctl serve`
//! fits a small machine (BENCHMARKS.md, "Memory of chatctl serve").

use std::time::Duration;

/// Blocking threads at most (tokio's default is 512). The embedded store's
/// larger reads, the blob files and the file analysis run there; on a
/// machine of a few cores more threads add no throughput, only their stacks
/// and the allocator's per-thread heaps.
const MAX_BLOCKING_THREADS: usize = 8;
/// How long an idle blocking thread is kept (tokio's default is 10 s).
const BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(2);

/// The runtime for every command.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    disable_huge_pages();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .build()
}

/// Asks the kernel for no transparent huge pages in this process. Where
/// they are on for every process (`/sys/kernel/mm/transparent_hugepage/
/// enabled` = `always`), each 2 MiB-aligned region the allocator touches
/// becomes a whole huge page, and the resident size grows by megabytes per
/// thread heap. Failing to ask (an old kernel) only costs memory.
fn disable_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}
