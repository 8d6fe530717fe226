//! Refused mount keys, audited without letting one client flood the trail: per client address,
//! the first few refusals of each minute are written; the rest are counted, and the next line
//! written for that address says how many were left out. Only bookkeeping lives here: the
//! caller writes the line.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refusals written per client address and window.
pub const LINES_PER_WINDOW: u32 = 5;
/// Length of a window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Client addresses remembered at once; beyond, the oldest windows are forgotten (a forgotten
/// address starts a fresh window: at worst a few more lines, never unbounded memory).
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    written: u32,
    /// Refusals left out since the last written line.
    skipped: u64,
}

/// Whether a refusal is written, and how many before it were left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write it; `skipped` refusals from this address were not written since the last line.
    Write { skipped: u64 },
    /// Leave it out (counted).
    Skip,
}

/// Per-address refusal windows.
#[derive(Debug, Default)]
pub struct RefusalAudit {
    windows: Mutex<HashMap<String, Window>>,
}

impl RefusalAudit {
    /// Counts one refusal from `client_ip` at `now` and says whether to write it.
    pub fn refused(&self, client_ip: &str, now: Instant) -> Verdict {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_ADDRESSES && !windows.contains_key(client_ip) {
            windows.retain(|_, w| now.duration_since(w.started) < WINDOW);
            if windows.len() >= MAX_ADDRESSES {
                windows.clear();
            }
        }
        let window = windows.entry(client_ip.to_string()).or_insert(Window {
            started: now,
            written: 0,
            skipped: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            window.started = now;
            window.written = 0;
        }
        if window.written < LINES_PER_WINDOW {
            window.written += 1;
            let skipped = std::mem::take(&mut window.skipped);
            Verdict::Write { skipped }
        } else {
            window.skipped += 1;
            Verdict::Skip
        }
    }
}

/// The audit reason of a written refusal.
pub fn reason(skipped: u64) -> String {
    let base = "unknown, revoked or expired mount key";
    if skipped == 0 {
        base.to_string()
    } else {
        format!("{base} ({skipped} earlier refusals from this address not written)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_writes_a_few_lines_then_counts_the_rest() {
        let audit = RefusalAudit::default();
        let start = Instant::now();
        let written = (0..1000)
            .filter(|_| audit.refused("192.0.2.1", start) != Verdict::Skip)
            .count();
        assert_eq!(written, LINES_PER_WINDOW as usize);
        // Another address has its own window.
        assert_eq!(
            audit.refused("192.0.2.2", start),
            Verdict::Write { skipped: 0 }
        );
        // The next window's first line says how many were left out.
        let later = start + WINDOW;
        assert_eq!(
            audit.refused("192.0.2.1", later),
            Verdict::Write { skipped: 995 }
        );
        assert_eq!(
            audit.refused("192.0.2.1", later),
            Verdict::Write { skipped: 0 }
        );
        assert!(reason(995).contains("995 earlier refusals"));
    }

    #[test]
    fn memory_stays_bounded_under_many_addresses() {
        let audit = RefusalAudit::default();
        let now = Instant::now();
        for i in 0..(MAX_ADDRESSES + 10) {
            audit.refused(&format!("10.0.{}.{}", i / 256, i % 256), now);
        }
        assert!(audit.windows.lock().unwrap().len() <= MAX_ADDRESSES);
    }
}
