//! The floor of the stack: a bare axum handler returning a fixed JSON body,
//! on the same runtime and socket setup as `chatctl serve`. Prints
//! `listening on ADDR` and serves until killed.

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = Router::new().route(
        "/",
        get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"status":"ok","service":"floor"}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
