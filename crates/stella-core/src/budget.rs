//! The memory budget of scans: a scan reserves what reading and matching its SBOM will take
//! (a multiple of the body's size, measured) before it starts, and waits, in order of arrival,
//! while the scans running hold the budget. So memory is bounded by the bytes in flight,
//! not by the number of slots: eight 54 MB SBOMs at once run one or two at a time instead of
//! taking the server to 2.7 GB.
//!
//! Traps: one scan larger than the whole budget still runs, alone (it reserves everything);
//! the semaphore is fair, so a large scan is not starved by a stream of small ones.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Peak memory of a scan as a multiple of its SBOM's size: measured 898 MB for a 54 MB
/// CycloneDX document (≈ 16.6×), rounded up.
pub(crate) const AMPLIFICATION: u64 = 17;
/// What any scan reserves at least (its buffers, the result).
const FLOOR: u64 = 1 << 20;

/// The budget, in KiB (the semaphore counts permits as `u32`).
#[derive(Debug)]
pub(crate) struct Budget {
    sem: Arc<Semaphore>,
    cap_kib: u32,
}

/// A reservation, given back when dropped.
pub(crate) type Reservation = OwnedSemaphorePermit;

impl Budget {
    /// A budget of `bytes` (at least 16 MiB).
    pub(crate) fn new(bytes: usize) -> Budget {
        let kib = (bytes as u64 / 1024).clamp(16 * 1024, u64::from(u32::MAX >> 4));
        let cap_kib = u32::try_from(kib).unwrap_or(u32::MAX >> 4);
        Budget {
            sem: Arc::new(Semaphore::new(cap_kib as usize)),
            cap_kib,
        }
    }

    /// What a scan of a `body`-byte request reserves, in KiB (never more than the budget).
    pub(crate) fn cost(&self, body: usize) -> u32 {
        let bytes = (body as u64).saturating_mul(AMPLIFICATION).max(FLOOR);
        u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .min(self.cap_kib)
    }

    /// Waits for room for a scan of a `body`-byte request (`None` only if the budget were
    /// closed, which it never is).
    pub(crate) async fn reserve(&self, body: usize) -> Option<Reservation> {
        let n = self.cost(body);
        self.sem.clone().acquire_many_owned(n).await.ok()
    }

    /// [`Budget::reserve`] from a thread outside the runtime (a worker); `None` when `stop`
    /// is set while waiting.
    pub(crate) fn reserve_blocking(
        &self,
        body: usize,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Option<Reservation> {
        let n = self.cost(body);
        loop {
            match self.sem.clone().try_acquire_many_owned(n) {
                Ok(p) => return Some(p),
                Err(_) if stop.load(std::sync::atomic::Ordering::Relaxed) => return None,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
    }

    /// KiB reserved now.
    pub(crate) fn reserved_kib(&self) -> u64 {
        u64::from(self.cap_kib).saturating_sub(self.sem.available_permits() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scans_wait_for_room_and_one_larger_than_all_runs_alone() {
        let b = Budget::new(64 << 20);
        assert_eq!(b.cost(10), 1024, "the floor");
        assert_eq!(b.cost(1 << 20), 17 * 1024);
        assert_eq!(b.cost(1 << 30), 64 * 1024, "capped at the whole budget");
        let big = b.reserve(3 << 20).await.unwrap(); // 51 MiB
        assert_eq!(b.reserved_kib(), 51 * 1024);
        let stop = std::sync::atomic::AtomicBool::new(false);
        // 17 MiB more does not fit: a worker waits until the big one is done
        let small = b.sem.clone().try_acquire_many_owned(b.cost(1 << 20));
        assert!(small.is_err());
        drop(big);
        let r = b.reserve_blocking(1 << 20, &stop).unwrap();
        assert_eq!(b.reserved_kib(), 17 * 1024);
        drop(r);
        // a scan of everything runs alone, then the next
        let all = b.reserve(1 << 30).await.unwrap();
        assert_eq!(b.reserved_kib(), 64 * 1024);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(
            b.reserve_blocking(10, &stop).is_none(),
            "stops waiting when asked"
        );
        drop(all);
        assert_eq!(b.reserved_kib(), 0);
    }
}
