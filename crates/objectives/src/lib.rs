#![warn(missing_docs)]
//! Joint-embedding energies and collapse-prevention regularisers on the device: the value, its named
//! terms, and the gradients with respect to both embedding matrices `a` and `b` (n×d; row i of each is
//! one view of sample i), recorded into the caller's [`Recorder`] so that a training step stays one
//! submission with no readback.
//!
//! [`Objective::plan`] allocates everything an objective needs for one (n, d) once; [`EnergyPlan::record`]
//! then only records dispatches. The f64 references are in `tandem_reference::energy`. Large problems are
//! processed in blocks: InfoNCE in row blocks of the similarity matrix (never the whole 2n×2n matrix), the
//! d×d covariance and cross-correlation in column blocks, each sized to fit a storage binding; and n×d
//! matrices larger than one binding (n = 16384, d = 8192 is 512 MiB, lavapipe binds 128 MiB) live in one
//! buffer each ([`Gpu::empty_large`]) and are bound a row window at a time ([`Tensor::rows`]), column
//! statistics accumulated window by window and sums over rows split into GEMMs that accumulate.

mod barlow_twins;
mod blocks;
mod info_nce;
mod l2;
mod neg_cosine;
mod vicreg;

use tandem_gpu::{Gpu, GpuError, Recorder, Tensor};

/// Why an energy cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum EnergyError {
    /// Fewer than two rows (the batch variance is undefined).
    #[error("{objective} needs at least 2 rows (samples), got {n}")]
    TooFewRows {
        /// The objective's name.
        objective: &'static str,
        /// Rows given.
        n: usize,
    },
    /// A width of 0.
    #[error("{objective} needs at least 1 column, got 0")]
    NoColumns {
        /// The objective's name.
        objective: &'static str,
    },
    /// A hyper-parameter out of range.
    #[error("invalid {name} = {value}: {why}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must be.
        why: &'static str,
    },
    /// a and b differ in shape, or differ from the plan's.
    #[error("embedding shapes differ: a is {a:?}, b is {b:?}, the plan is for ({n}, {d})")]
    ShapeMismatch {
        /// a's shape.
        a: Vec<usize>,
        /// b's shape.
        b: Vec<usize>,
        /// Planned rows.
        n: usize,
        /// Planned columns.
        d: usize,
    },
    /// A device error (including a problem too large for the device).
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// An energy and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Objective {
    /// SimCLR's NT-Xent.
    InfoNce {
        /// Temperature τ (> 0); 0.1 by default.
        temperature: f32,
    },
    /// VICReg: invariance, variance and covariance.
    Vicreg {
        /// Invariance weight (25).
        sim: f32,
        /// Variance weight (25).
        std: f32,
        /// Covariance weight (1).
        cov: f32,
    },
    /// Barlow Twins redundancy reduction.
    BarlowTwins {
        /// Off-diagonal weight λ (0.0051).
        lambda: f32,
    },
    /// −mean cosine similarity (SimSiam, BYOL).
    NegCosine,
    /// mean squared distance between the views.
    L2,
}

impl Objective {
    /// Every objective's command-line name.
    pub const NAMES: [&'static str; 5] = ["info-nce", "vicreg", "barlow-twins", "neg-cosine", "l2"];

    /// The objective called `name` with its published default hyper-parameters.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "info-nce" => Self::InfoNce { temperature: 0.1 },
            "vicreg" => Self::Vicreg { sim: 25.0, std: 25.0, cov: 1.0 },
            "barlow-twins" => Self::BarlowTwins { lambda: 0.0051 },
            "neg-cosine" => Self::NegCosine,
            "l2" => Self::L2,
            _ => return None,
        })
    }

    /// The command-line name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InfoNce { .. } => "info-nce",
            Self::Vicreg { .. } => "vicreg",
            Self::BarlowTwins { .. } => "barlow-twins",
            Self::NegCosine => "neg-cosine",
            Self::L2 => "l2",
        }
    }

    /// Names of the terms stored after the value.
    pub fn term_names(&self) -> &'static [&'static str] {
        match self {
            Self::Vicreg { .. } => &["invariance", "variance", "covariance"],
            Self::BarlowTwins { .. } => &["on_diagonal", "off_diagonal"],
            _ => &[],
        }
    }

    fn validate(&self, n: usize, d: usize) -> Result<(), EnergyError> {
        let objective = self.name();
        if n < 2 {
            return Err(EnergyError::TooFewRows { objective, n });
        }
        if d == 0 {
            return Err(EnergyError::NoColumns { objective });
        }
        let finite_non_negative = |name, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(EnergyError::InvalidParameter { name, value: v.into(), why: "must be finite and >= 0" })
            }
        };
        match *self {
            Self::InfoNce { temperature } if !(temperature.is_finite() && temperature > 0.0) => {
                Err(EnergyError::InvalidParameter {
                    name: "temperature",
                    value: temperature.into(),
                    why: "must be > 0",
                })
            }
            Self::Vicreg { sim, std, cov } => {
                finite_non_negative("sim-coeff", sim)?;
                finite_non_negative("std-coeff", std)?;
                finite_non_negative("cov-coeff", cov)
            }
            Self::BarlowTwins { lambda } => finite_non_negative("lambda", lambda),
            _ => Ok(()),
        }
    }

    /// Checks the problem and allocates everything the objective needs for embeddings of `n` rows and `d`
    /// columns, before anything is dispatched: a problem too large for the device is refused here.
    pub fn plan(&self, gpu: &Gpu, n: usize, d: usize) -> Result<EnergyPlan, EnergyError> {
        let budget = (gpu.limits().max_storage_buffer_binding_size / 4) as usize;
        self.plan_with_block_budget(gpu, n, d, budget)
    }

    /// [`Objective::plan`] with blocks (of the similarity or d×d matrices) and row windows of at most
    /// `budget` values instead of a whole storage binding (a larger budget is capped at one binding):
    /// smaller blocks trade dispatches for memory.
    pub fn plan_with_block_budget(
        &self,
        gpu: &Gpu,
        n: usize,
        d: usize,
        budget: usize,
    ) -> Result<EnergyPlan, EnergyError> {
        self.validate(n, d)?;
        let budget = budget.min((gpu.limits().max_storage_buffer_binding_size / 4) as usize);
        let windows = blocks::row_windows(n, d, budget)?;
        let values = gpu.zeros(&[1 + self.term_names().len()])?;
        let grad_a = gpu.empty_large(&[n, d])?;
        let grad_b = gpu.empty_large(&[n, d])?;
        let scratch = match *self {
            Self::L2 | Self::NegCosine => Scratch::Rows(gpu.empty(&[n])?),
            Self::Vicreg { .. } => Scratch::Vicreg(vicreg::Scratch::new(gpu, n, d, budget)?),
            Self::BarlowTwins { .. } => Scratch::Barlow(barlow_twins::Scratch::new(gpu, n, d, budget)?),
            Self::InfoNce { .. } => Scratch::InfoNce(info_nce::Scratch::new(gpu, n, d, budget)?),
        };
        Ok(EnergyPlan { objective: *self, n, d, windows, values, grad_a, grad_b, scratch })
    }
}

enum Scratch {
    Rows(Tensor),
    Vicreg(vicreg::Scratch),
    Barlow(barlow_twins::Scratch),
    InfoNce(info_nce::Scratch),
}

/// An objective bound to one problem size, with its outputs and scratch buffers.
pub struct EnergyPlan {
    objective: Objective,
    n: usize,
    d: usize,
    windows: Vec<(usize, usize)>,
    values: Tensor,
    grad_a: Tensor,
    grad_b: Tensor,
    scratch: Scratch,
}

impl EnergyPlan {
    /// The objective.
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// `[value, terms...]` after [`EnergyPlan::record`] has run (read it back outside the step).
    pub fn values(&self) -> &Tensor {
        &self.values
    }

    /// ∂value/∂a (n, d).
    pub fn grad_a(&self) -> &Tensor {
        &self.grad_a
    }

    /// ∂value/∂b (n, d).
    pub fn grad_b(&self) -> &Tensor {
        &self.grad_b
    }

    /// How the plan computes its d×d or 2n×2n matrices: `rows` (per-row energies, none), `row-blocks`
    /// (InfoNCE's similarity blocks), `gram` (VICReg's covariance or Barlow Twins' cross-correlation through
    /// the n×n Gram matrices) or `column-blocks` (through d×d column blocks).
    pub fn route(&self) -> &'static str {
        match &self.scratch {
            Scratch::Rows(_) => "rows",
            Scratch::InfoNce(_) => "row-blocks",
            Scratch::Vicreg(s) if s.uses_gram() => "gram",
            Scratch::Barlow(s) if s.uses_gram() => "gram",
            _ => "column-blocks",
        }
    }

    /// Row windows `(start, rows)` through which the n×d matrices are processed: one unless n·d values
    /// exceed a storage binding (or the plan's block budget).
    pub fn row_windows(&self) -> &[(usize, usize)] {
        &self.windows
    }

    /// Records the value, terms and both gradients for embeddings `a` and `b` (n, d). Embeddings larger
    /// than one storage binding come from [`Gpu::empty_large`] and are bound a row window at a time.
    pub fn record(&self, rec: &mut Recorder<'_>, a: &Tensor, b: &Tensor) -> Result<(), EnergyError> {
        if a.shape() != [self.n, self.d] || b.shape() != [self.n, self.d] {
            return Err(EnergyError::ShapeMismatch {
                a: a.shape().to_vec(),
                b: b.shape().to_vec(),
                n: self.n,
                d: self.d,
            });
        }
        let out = Outputs { windows: &self.windows, values: &self.values, grad_a: &self.grad_a, grad_b: &self.grad_b };
        match (&self.scratch, self.objective) {
            (Scratch::Rows(rows), Objective::L2) => l2::record(rec, a, b, rows, &out)?,
            (Scratch::Rows(rows), Objective::NegCosine) => neg_cosine::record(rec, a, b, rows, &out)?,
            (Scratch::Vicreg(s), Objective::Vicreg { sim, std, cov }) => {
                vicreg::record(rec, a, b, s, [sim, std, cov], &out)?
            }
            (Scratch::Barlow(s), Objective::BarlowTwins { lambda }) => {
                barlow_twins::record(rec, a, b, s, lambda, &out)?
            }
            (Scratch::InfoNce(s), Objective::InfoNce { temperature }) => {
                info_nce::record(rec, a, b, s, temperature, &out)?
            }
            _ => unreachable!("the plan's scratch matches its objective"),
        }
        Ok(())
    }
}

/// Where an objective writes, and the row windows it reads and writes n×d matrices through.
pub(crate) struct Outputs<'a> {
    pub windows: &'a [(usize, usize)],
    pub values: &'a Tensor,
    pub grad_a: &'a Tensor,
    pub grad_b: &'a Tensor,
}
