//! A response body of shared byte buffers sent one after another, its length
//! known up front (so `Content-Length`, not chunked): a large part kept
//! between requests goes out as it is, without being copied into one buffer
//! per request.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};

struct Parts {
    parts: VecDeque<Bytes>,
    remaining: u64,
}

/// A body sending `parts` in order (empty ones are left out).
pub fn body(parts: impl IntoIterator<Item = Bytes>) -> Body {
    let parts: VecDeque<Bytes> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    let remaining = parts.iter().map(|p| p.len() as u64).sum();
    Body::new(Parts { parts, remaining })
}

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.parts.pop_front();
        if let Some(part) = &next {
            self.remaining -= part.len() as u64;
        }
        Poll::Ready(next.map(|part| Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use http_body::Body as _;

    use super::*;

    #[tokio::test]
    async fn sends_the_parts_in_order_with_their_length_known() {
        let body = body([
            Bytes::from_static(b"{\"a\":"),
            Bytes::new(),
            Bytes::from(vec![b'1'; 3]),
            Bytes::from_static(b"}"),
        ]);
        assert_eq!(body.size_hint().exact(), Some(9));
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the parts are read");
        assert_eq!(&bytes[..], b"{\"a\":111}");
    }
}
