//! tandem as a library: train SimCLR on the built-in images with a small MLP encoder, then embed the
//! test split with the trained encoder. Run with `cargo run --release --example train_and_embed`.

use tandem::data::open;
use tandem::gpu::Gpu;
use tandem::train::{Encoder, Event, RunDir, Stop, TrainConfig, Trainer, run};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gpu = Gpu::new()?; // any backend; TANDEM_BACKEND / TANDEM_ADAPTER choose
    let train = open("builtin:train:512", None, &Default::default())?.dataset;
    let config = TrainConfig {
        method: "simclr".into(),
        encoder: "mlp:256,64".into(),
        epochs: 1,
        batch_size: 128,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&gpu, config.resolve()?, train)?;
    let out = std::env::temp_dir().join(format!("tandem-example-{}", std::process::id()));
    let mut run_dir = RunDir::open(&out)?;
    run(&mut trainer, &mut run_dir, Stop::default(), |event| {
        if let Event::Step(r) = event {
            println!("step {} loss {:.4}", r.step, r.loss);
        }
    })?;

    let test = open("builtin:test:256", None, &Default::default())?.dataset;
    let encoder = Encoder::load(&gpu, &out, &*test)?;
    let features = encoder.embed(&test)?; // 256 x 64, row-major, dataset order
    println!("embedded {} samples into {} features", features.len() / encoder.dim(), encoder.dim());
    std::fs::remove_dir_all(&out)?;
    Ok(())
}
