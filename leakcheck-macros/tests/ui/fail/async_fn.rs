#[leakcheck_rt::leak_test]
async fn asynchronous() {}

fn main() {}
