//! Running jobs on `-j` threads, results in the jobs' order.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// `f` of every item, on up to `jobs` threads (each runs the next item not
/// yet taken, so a slow item does not hold up a queue of its own); the
/// results are in the items' order, whatever order they finished in.
pub fn map<T: Sync, R: Send>(jobs: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = jobs.min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else {
                        break;
                    };
                    let result = f(item);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item ran: a panicking job ends the scope"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn results_keep_the_items_order_and_jobs_overlap() {
        let items: Vec<u64> = (0..12).collect();
        // The first three items meet: they can only pass the barrier by
        // running on three threads at once.
        let barrier = std::sync::Barrier::new(3);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let out = map(3, &items, |&i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            if i < 3 {
                barrier.wait();
            }
            // Later items finish first.
            thread::sleep(Duration::from_millis(12 - i));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        assert_eq!(out, (0..12).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 3, "never more than -j");
        assert_eq!(map(1, &items, |&i| i), items);
        assert!(map(4, &[] as &[u64], |&i| i).is_empty());
    }
}
