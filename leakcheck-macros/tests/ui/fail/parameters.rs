use leakcheck_rt::LeakLoop;

#[leakcheck_rt::leak_test]
fn one_parameter(id: u64) {
    let _ = id;
}

#[leakcheck_rt::leak_test]
fn shared_leak_loop(lt: &LeakLoop) {
    let _ = lt;
}

#[leakcheck_rt::leak_test]
fn leak_loop_by_value(lt: LeakLoop) {
    let _ = lt;
}

#[leakcheck_rt::leak_test]
fn two_parameters(lt: &mut LeakLoop, b: u8) {
    let _ = (lt, b);
}

struct Service;

impl Service {
    #[leakcheck_rt::leak_test]
    fn method(&self) {}
}

fn main() {}
