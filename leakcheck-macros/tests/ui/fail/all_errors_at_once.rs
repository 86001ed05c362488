// Every problem is reported in one build, arguments and signature alike.

#[leakcheck_rt::leak_test(warmup = 0, bogus = 1, frames = 500, frames = 2, snapshot = "yes")]
async fn everything_wrong(x: u32) -> u32 {
    x
}

fn main() {}
