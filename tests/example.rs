//! The library example under examples/ builds and runs to the end.

#[path = "../examples/train_and_embed.rs"]
mod train_and_embed;

#[test]
fn train_and_embed_example_runs() {
    train_and_embed::main().expect("the example runs");
}
