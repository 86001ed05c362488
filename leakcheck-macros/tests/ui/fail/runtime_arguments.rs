#[leakcheck_rt::leak_test(flavor = "multi")]
async fn unknown_flavor() {}

#[leakcheck_rt::leak_test(flavor = multi_thread)]
async fn flavor_not_a_string() {}

#[leakcheck_rt::leak_test(worker_threads = 2)]
async fn workers_without_multi_thread() {}

#[leakcheck_rt::leak_test(flavor = "current_thread", worker_threads = 2)]
async fn workers_on_current_thread() {}

#[leakcheck_rt::leak_test(flavor = "multi_thread", worker_threads = 0)]
async fn no_workers() {}

#[leakcheck_rt::leak_test(flavor = "multi_thread", worker_threads = 2)]
fn runtime_for_a_plain_fn() {}

fn main() {}
