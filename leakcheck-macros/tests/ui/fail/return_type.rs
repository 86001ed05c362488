#[leakcheck_rt::leak_test]
fn returns_a_number() -> u64 {
    42
}

#[leakcheck_rt::leak_test]
fn returns_a_result() -> Result<(), String> {
    Ok(())
}

fn main() {}
