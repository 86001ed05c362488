use std::collections::HashMap;

use leakcheck_rt::LeakLoop;

#[leakcheck_rt::leak_test(iters = 1_000)]
fn stateful(lt: &mut leakcheck_rt::LeakLoop) {
    let mut cache: HashMap<u64, Vec<u8>> = HashMap::new();
    lt.iter(|i| cache.insert(i % 10, vec![0; 8]));
}

#[leakcheck_rt::leak_test]
fn imported_name_and_mut_pattern(mut lt: &mut LeakLoop) {
    let lt2: &mut &mut LeakLoop = &mut lt;
    lt2.iter(|_| ());
}

fn main() {}
