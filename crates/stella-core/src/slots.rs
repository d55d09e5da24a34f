//! Scan slots: a few threads of Core's own that run scans, the most recently idle one first.
//!
//! Why not tokio's blocking pool: it wakes the thread that has waited longest, so on a busy
//! server every scan ran on a different one of some dozen threads, each with its own
//! allocator heap and buffers gone cold in the meantime (on two cores, allocating showed as
//! 9 % of a scan's CPU, nearly all of it cache misses on free lists). Here an idle thread
//! waits on its own channel and the last one to finish takes the next scan, so under a load
//! the core count can carry the same few threads do the work, with their memory warm.
//! Scans beyond the slots wait their turn in order of arrival.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The slots.
pub(crate) struct Slots {
    shared: Arc<Mutex<Waiting>>,
    /// One channel per thread; dropped with the slots, which ends the threads.
    threads: Vec<mpsc::Sender<Job>>,
}

#[derive(Default)]
struct Waiting {
    /// Threads waiting for a job, the latest to finish last.
    idle: Vec<usize>,
    /// Jobs waiting for a thread, the oldest first.
    jobs: VecDeque<Job>,
}

/// The job's thread stopped before it answered (it panicked).
#[derive(Debug, thiserror::Error)]
#[error("the scan stopped unexpectedly")]
pub(crate) struct Stopped;

impl Slots {
    /// `n` threads (at least one), named `stella-scan-N`.
    pub(crate) fn new(n: usize) -> std::io::Result<Slots> {
        Slots::named("stella-scan", n)
    }

    fn named(name: &str, n: usize) -> std::io::Result<Slots> {
        let shared = Arc::new(Mutex::new(Waiting::default()));
        let mut threads = Vec::with_capacity(n.max(1));
        for i in 0..n.max(1) {
            let (tx, rx) = mpsc::channel::<Job>();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || work(i, &shared, &rx))?;
            threads.push(tx);
        }
        Ok(Slots { shared, threads })
    }

    /// Runs `f` in a slot and answers with what it returns. A job still waiting for a slot
    /// when its caller goes away (the client hung up) is skipped; a started one completes.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Stopped> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move || {
            if !tx.is_closed() {
                let _ = tx.send(f());
            }
        }));
        rx.await.map_err(|_| Stopped)
    }

    fn submit(&self, job: Job) {
        let mut w = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match w.idle.pop() {
            Some(i) => {
                drop(w);
                // a thread is only idle while it waits on its channel, which lives as long
                // as the slots do
                let _ = self.threads[i].send(job);
            }
            None => w.jobs.push_back(job),
        }
    }
}

/// A slot's thread: the jobs waiting first, then its own channel until the slots are dropped.
fn work(i: usize, shared: &Mutex<Waiting>, rx: &mpsc::Receiver<Job>) {
    loop {
        let next = {
            let mut w = shared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let next = w.jobs.pop_front();
            if next.is_none() {
                w.idle.push(i);
            }
            next
        };
        let job = match next {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        // a panicking scan drops its answer (the caller sees `Stopped`); the thread goes on
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn every_job_runs_once_and_at_most_n_at_a_time() {
        let slots = Arc::new(Slots::new(3).unwrap());
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let sum = rt().block_on(async {
            let mut tasks = Vec::new();
            for k in 0..200u64 {
                let (s, running, most) = (slots.clone(), running.clone(), most.clone());
                tasks.push(tokio::spawn(async move {
                    s.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        running.fetch_sub(1, Ordering::SeqCst);
                        k
                    })
                    .await
                    .unwrap()
                }));
            }
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, (0..200).sum::<u64>());
        let most = most.load(Ordering::SeqCst);
        assert!((1..=3).contains(&most), "{most} at once");
    }

    #[test]
    fn the_latest_idle_thread_takes_the_next_job() {
        let slots = Slots::new(4).unwrap();
        let rt = rt();
        let name = || std::thread::current().name().unwrap().to_string();
        // each job once every thread waits (they start in any order, and a thread goes back
        // to waiting just after it has answered)
        let run = || {
            while slots.shared.lock().unwrap().idle.len() < 4 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            rt.block_on(slots.run(name)).unwrap()
        };
        // one job at a time: always the same thread, the one that finished last
        let first = run();
        for _ in 0..20 {
            assert_eq!(run(), first);
        }
    }

    #[test]
    fn a_job_whose_caller_left_before_it_started_is_skipped() {
        let slots = Arc::new(Slots::new(1).unwrap());
        let rt = rt();
        let ran = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let s = slots.clone();
            let busy = tokio::spawn(async move {
                s.run(|| std::thread::sleep(std::time::Duration::from_millis(200)))
                    .await
            });
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            // waits behind the busy slot, then its caller gives up
            let r = ran.clone();
            let gave_up = tokio::time::timeout(
                std::time::Duration::from_millis(20),
                slots.run(move || r.fetch_add(1, Ordering::SeqCst)),
            )
            .await;
            assert!(gave_up.is_err());
            busy.await.unwrap().unwrap();
            let r = ran.clone();
            slots
                .run(move || r.fetch_add(10, Ordering::SeqCst))
                .await
                .unwrap();
        });
        assert_eq!(ran.load(Ordering::SeqCst), 10);
    }

    #[test]
    fn a_panicking_job_is_an_error_and_the_slot_goes_on() {
        let slots = Slots::new(1).unwrap();
        let rt = rt();
        let r: Result<(), Stopped> = rt.block_on(slots.run(|| panic!("boom")));
        assert!(r.is_err());
        assert_eq!(rt.block_on(slots.run(|| 7)).unwrap(), 7);
    }

    #[test]
    fn dropping_the_slots_ends_their_threads() {
        // threads of this process by the name this test gives them (Linux: /proc)
        let count = || {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|c| c.starts_with("slots-drop-"))
                .count()
        };
        // a thread takes its name once it runs: wait for both (on a loaded machine, a while)
        let wait_for = |n: usize| {
            for _ in 0..1000 {
                if count() == n {
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            false
        };
        let slots = Slots::named("slots-drop", 2).unwrap();
        assert_eq!(rt().block_on(slots.run(|| 1)).unwrap(), 1);
        assert!(wait_for(2), "{} slot threads, not 2", count());
        drop(slots);
        assert!(wait_for(0), "{} slot threads outlived the slots", count());
    }
}
