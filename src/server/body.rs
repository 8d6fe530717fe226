//! Request bodies as the WebDAV crate reads them. A PUT body is streamed: counted, cut off when
//! it stays silent longer than the body timeout, failed when it runs past an announced length,
//! so a slow or lying client ends in an error before anything is committed. Other bodies (XML
//! of PROPFIND, PROPPATCH, LOCK) are small: read whole first, under a size limit, so they can
//! be checked before the crate parses them.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// What went wrong with a body, as the client will be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// More bytes than announced, or than allowed.
    TooLong,
    /// Silent longer than the body timeout.
    TimedOut,
    /// The connection failed or ended before the body was complete.
    Broken,
}

/// What a streamed body saw, read by the server after the crate is done.
#[derive(Debug, Default)]
pub struct BodyWatch {
    received: AtomicU64,
    fault: Mutex<Option<BodyFault>>,
}

impl BodyWatch {
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    pub fn fault(&self) -> Option<BodyFault> {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, fault: BodyFault) -> io::Error {
        self.fault
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(fault);
        let kind = match fault {
            BodyFault::TooLong => io::ErrorKind::InvalidData,
            BodyFault::TimedOut => io::ErrorKind::TimedOut,
            BodyFault::Broken => io::ErrorKind::UnexpectedEof,
        };
        io::Error::new(kind, format!("request body: {fault:?}"))
    }
}

pub enum GuardedBody {
    Streaming {
        inner: Incoming,
        idle: Duration,
        timer: Pin<Box<Sleep>>,
        /// The announced size (`X-Expected-Entity-Length` when no `Content-Length`).
        limit: Option<u64>,
        /// Slowest average rate accepted once the first `idle` period is over: a client that
        /// trickles a byte now and then never stays silent long enough for the idle timer.
        min_rate: u64,
        started: Instant,
        watch: Arc<BodyWatch>,
    },
    Buffered(Option<Bytes>),
}

impl GuardedBody {
    pub fn streaming(
        inner: Incoming,
        idle: Duration,
        min_rate: u64,
        limit: Option<u64>,
    ) -> (GuardedBody, Arc<BodyWatch>) {
        let watch = Arc::new(BodyWatch::default());
        let body = GuardedBody::Streaming {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            limit,
            min_rate,
            started: Instant::now(),
            watch: watch.clone(),
        };
        (body, watch)
    }

    pub fn buffered(bytes: Bytes) -> GuardedBody {
        GuardedBody::Buffered(Some(bytes))
    }
}

/// Reads a whole small body, each frame within `idle`, at most `max` bytes.
pub async fn read_small(
    mut inner: Incoming,
    idle: Duration,
    max: usize,
) -> Result<Bytes, BodyFault> {
    let mut buf = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(idle, inner.frame()).await {
            Err(_) => return Err(BodyFault::TimedOut),
            Ok(None) => return Ok(buf.freeze()),
            Ok(Some(Err(_))) => return Err(BodyFault::Broken),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > max {
                return Err(BodyFault::TooLong);
            }
            buf.extend_from_slice(data);
        }
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let (inner, idle, timer, limit, min_rate, started, watch) = match &mut *self {
            GuardedBody::Buffered(bytes) => {
                return Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b))));
            }
            GuardedBody::Streaming {
                inner,
                idle,
                timer,
                limit,
                min_rate,
                started,
                watch,
            } => (inner, idle, timer, limit, *min_rate, *started, watch),
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                timer.as_mut().reset(Instant::now() + *idle);
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    let total = watch.received.fetch_add(len, Ordering::Relaxed) + len;
                    if limit.is_some_and(|limit| total > limit) {
                        return Poll::Ready(Some(Err(watch.fail(BodyFault::TooLong))));
                    }
                    let elapsed = started.elapsed();
                    let due = (elapsed.as_secs_f64() * min_rate as f64) as u64;
                    if elapsed > *idle && total < due {
                        return Poll::Ready(Some(Err(watch.fail(BodyFault::TimedOut))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(_))) => Poll::Ready(Some(Err(watch.fail(BodyFault::Broken)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(watch.fail(BodyFault::TimedOut)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            GuardedBody::Streaming { inner, .. } => inner.is_end_stream(),
            GuardedBody::Buffered(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GuardedBody::Streaming { inner, .. } => inner.size_hint(),
            GuardedBody::Buffered(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            GuardedBody::Buffered(None) => SizeHint::with_exact(0),
        }
    }
}
