//! The store conformance suites on the embedded drivers. A cloud driver runs
//! the very same checks from its own test (see docs/ARCHITECTURE.md).

use std::sync::Arc;

use chat_shared::store::Table;
use chat_shared::store::conformance;
use chat_shared::store::embedded::EmbeddedTable;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_table_conforms() {
    conformance::run_all(|| async {
        Arc::new(EmbeddedTable::temporary().unwrap()) as Arc<dyn Table>
    })
    .await;
}
