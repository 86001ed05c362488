// `#[tokio::test]` would build a second runtime and register the test
// twice; the leak test builds its own.
#[leakcheck_rt::leak_test]
#[tokio::test]
async fn stacked() {}

fn main() {}
