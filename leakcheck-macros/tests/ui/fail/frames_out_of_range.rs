#[leakcheck_rt::leak_test(frames = 0)]
fn no_frames() {}

#[leakcheck_rt::leak_test(frames = 129)]
fn too_many_frames() {}

fn main() {}
