//! Wall-clock time per operation of every path (orientation only; the instruction counts
//! of `nxsm-bench-paths` under callgrind are the stable figure). One benchmark per path,
//! named as in `nxsm-bench-paths --list`; only the measured operations are timed (see the
//! crate documentation), so criterion's "time" is nanoseconds per operation.
//!
//! `cargo bench -p nxsm-bench` (about half a minute after the build); a path name after
//! `--` runs only the paths containing it, e.g. `cargo bench -p nxsm-bench -- hook_`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use nxsm_bench::{Path, Stopwatch};

fn paths(c: &mut Criterion) {
    for path in Path::ALL.into_iter().chain(Path::EXTRA) {
        let workload = path.prepare();
        c.bench_function(path.name(), |b| {
            b.iter_custom(|iterations| {
                let mut stopwatch = Stopwatch::default();
                let outcome = workload.run(iterations, &mut stopwatch);
                if let Err(problem) = outcome.check() {
                    panic!("{problem}");
                }
                stopwatch.elapsed()
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = paths
}
criterion_main!(benches);
