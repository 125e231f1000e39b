//! The floor of the stack: a bare axum handler returning a fixed JSON body,
//! on the same runtime and socket setup as `chatctl serve`. Prints
//! `listening on ADDR` and serves until killed.
//!
//! `GET /` answers a small JSON object; `GET /body/{bytes}` answers exactly
//! `bytes` bytes (at most 4 MiB) from one buffer shared by all requests, with
//! the same headers: the floor for large answers such as stats by user at
//! 10,000 users (`statsbench --floor`, which reads bodies unparsed).

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

const MAX_BODY: usize = 4 << 20;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let filler = Bytes::from(vec![b'x'; MAX_BODY]);
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"status":"ok","service":"floor"}"#,
                )
            }),
        )
        .route(
            "/body/{bytes}",
            get(move |Path(bytes): Path<usize>| {
                let filler = filler.clone();
                async move {
                    if bytes > MAX_BODY {
                        return (StatusCode::BAD_REQUEST, "at most 4 MiB").into_response();
                    }
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        filler.slice(..bytes),
                    )
                        .into_response()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
