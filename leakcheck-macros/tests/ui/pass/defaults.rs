// No arguments: every default applies.

fn handle_request(id: u64) -> Vec<u8> {
    vec![0; id as usize % 64]
}

#[leakcheck_rt::leak_test]
fn handle_request_does_not_leak() {
    handle_request(7);
}

#[leakcheck_rt::leak_test()]
fn empty_parentheses() {}

fn main() {}
