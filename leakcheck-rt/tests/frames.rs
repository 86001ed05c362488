//! A small frame limit still names the allocating line, as tracemalloc's
//! `nframe = 1` does: the tracker's own frames and the standard library's
//! below the charged line are walked on top of the limit.

use leakcheck_rt::KeyType;

leakcheck_rt::install!();

#[inline(never)]
fn allocate(kept: &mut Vec<Vec<u8>>) {
    kept.push(vec![0u8; 4096]); // ALLOCATING LINE
}

fn allocating_line() -> u32 {
    include_str!("frames.rs")
        .lines()
        .position(|l| l.contains("// ALLOCATING LINE"))
        .unwrap() as u32
        + 1
}

#[test]
fn every_small_limit_names_the_line() {
    for nframe in 1..=6 {
        leakcheck_rt::stop();
        leakcheck_rt::start(nframe);
        let mut kept = Vec::with_capacity(100);
        let before = leakcheck_rt::take_snapshot();
        for _ in 0..100 {
            allocate(&mut kept);
        }
        let after = leakcheck_rt::take_snapshot();
        let top = &after.compare_to(&before, KeyType::Lineno)[0];
        let frame = top.traceback.charged_frame().unwrap();
        assert_eq!(
            (frame.file.as_str(), frame.line),
            ("leakcheck-rt/tests/frames.rs", allocating_line()),
            "nframe = {nframe}: {top}"
        );
        assert_eq!(top.count_diff, 100, "nframe = {nframe}: {top}");

        // The limit counts frames from the charged line outwards.
        let by_path = after.compare_to(&before, KeyType::Traceback);
        let path = &by_path[0].traceback;
        let frames = path.frames();
        let charged = frames.iter().rposition(|f| !f.is_std()).unwrap();
        assert!(charged < nframe, "nframe = {nframe}: {:#?}", path.format());
        assert_eq!(after.traceback_limit(), nframe);
        drop(kept);
    }
    leakcheck_rt::stop();
}
