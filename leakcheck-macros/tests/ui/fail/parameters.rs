#[leakcheck_rt::leak_test]
fn one_parameter(id: u64) {
    let _ = id;
}

#[leakcheck_rt::leak_test]
fn two_parameters(a: u8, b: u8) {
    let _ = (a, b);
}

struct Service;

impl Service {
    #[leakcheck_rt::leak_test]
    fn method(&self) {}
}

fn main() {}
