//! Activations, forward and backward: ReLU (`shaders/nn/relu_{fwd,bwd}.wgsl`) and the exact GELU
//! (`shaders/nn/gelu_{fwd,bwd}.wgsl`). Reference: `tandem_reference::activation`.

use tandem_gpu::{Access, Recorder, Result, Tensor};

use crate::entry::{EntryKey, LenParams, R, W, same_len};

const FWD: &[Access] = &[R, W];
const BWD: &[Access] = &[R, R, W];

/// The activation functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x Φ(x)` with the exact normal CDF.
    Gelu,
}

impl Activation {
    fn keys(self) -> (EntryKey, EntryKey) {
        let (fwd, bwd) = match self {
            Self::Relu => ("nn/relu_fwd.wgsl", "nn/relu_bwd.wgsl"),
            Self::Gelu => ("nn/gelu_fwd.wgsl", "nn/gelu_bwd.wgsl"),
        };
        (EntryKey { file: fwd, entry: "main", storage: FWD }, EntryKey { file: bwd, entry: "main", storage: BWD })
    }

    /// `y = f(x)`.
    #[track_caller]
    pub fn forward(self, rec: &mut Recorder<'_>, x: &Tensor, y: &Tensor) -> Result<()> {
        same_len("activation forward", x, y);
        self.keys().0.launch(rec, &[x, y], &LenParams::new(x.len()), x.len(), 256)
    }

    /// `dx = f'(x) * dy` (written, not accumulated).
    #[track_caller]
    pub fn backward(self, rec: &mut Recorder<'_>, x: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
        same_len("activation backward", x, dy);
        same_len("activation backward", x, dx);
        self.keys().1.launch(rec, &[x, dy, dx], &LenParams::new(x.len()), x.len(), 256)
    }
}
