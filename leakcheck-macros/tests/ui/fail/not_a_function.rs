#[leakcheck_rt::leak_test]
struct NotAFunction;

#[leakcheck_rt::leak_test]
/// A documented constant.
pub(crate) const LIMIT: usize = 10;

#[leakcheck_rt::leak_test(iters = 0)]
mod tests {}

fn main() {}
