//! The request body as the WebDAV crate reads it: counted, cut off when it stays silent longer
//! than the body timeout, and failed when it runs past an announced length, so that a slow or
//! lying client ends in an error before anything is committed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

pub struct GuardedBody {
    inner: Incoming,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    /// The announced size (`X-Expected-Entity-Length` when no `Content-Length`).
    limit: Option<u64>,
    received: Arc<AtomicU64>,
}

impl GuardedBody {
    pub fn new(
        inner: Incoming,
        idle: Duration,
        limit: Option<u64>,
    ) -> (GuardedBody, Arc<AtomicU64>) {
        let received = Arc::new(AtomicU64::new(0));
        let body = GuardedBody {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            limit,
            received: received.clone(),
        };
        (body, received)
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let deadline = Instant::now() + this.idle;
                this.timer.as_mut().reset(deadline);
                if let Some(data) = frame.data_ref() {
                    let total = this
                        .received
                        .fetch_add(data.len() as u64, Ordering::Relaxed)
                        + data.len() as u64;
                    if this.limit.is_some_and(|limit| total > limit) {
                        return Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "body longer than announced",
                        ))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(io::Error::other(err)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body timed out",
                )))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
