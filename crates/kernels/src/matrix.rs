//! [`HalfMatrix`]: a matrix stored as f16 on the device (mixed precision keeps the activations that
//! backward needs this way), and [`MatrixRef`]: a matrix kernels read or write in either storage.
//!
//! Layout: row-major, two f16 values per 32-bit word (the lower half first, as WGSL's `pack2x16float`),
//! each row padded to an even number of values so that rows start on word boundaries. The words are an
//! ordinary (rows, ⌈cols/2⌉) [`Tensor`], so pooling, row windows and binding checks apply unchanged.

use tandem_gpu::{Gpu, Result, Tensor};

/// An f16 (rows, cols) matrix on the device.
#[derive(Clone, Debug)]
pub struct HalfMatrix {
    words: Tensor,
    cols: usize,
}

impl HalfMatrix {
    /// A matrix with unspecified contents.
    pub fn empty(gpu: &Gpu, rows: usize, cols: usize) -> Result<Self> {
        Ok(Self { words: gpu.empty(&[rows, cols.div_ceil(2)])?, cols })
    }

    /// `data` (rows × cols, row-major) rounded to the nearest f16.
    #[track_caller]
    pub fn upload(gpu: &Gpu, (rows, cols): (usize, usize), data: &[f32]) -> Result<Self> {
        assert_eq!(data.len(), rows * cols, "HalfMatrix::upload: {} values for {rows}x{cols}", data.len());
        let m = Self::empty(gpu, rows, cols)?;
        let bits = |v: Option<&f32>| u32::from(v.map_or(0, |v| half::f16::from_f32(*v).to_bits()));
        let words: Vec<u32> = (0..rows)
            .flat_map(|r| {
                let row = &data[r * cols..(r + 1) * cols];
                (0..cols.div_ceil(2)).map(move |w| bits(row.get(2 * w)) | bits(row.get(2 * w + 1)) << 16)
            })
            .collect();
        gpu.write_bytes(&m.words, bytemuck::cast_slice(&words));
        Ok(m)
    }

    /// The values as f32 (rows × cols, row-major), waiting for submitted work.
    pub fn download(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        let words: Vec<u32> = gpu.download(&self.words)?.into_iter().map(f32::to_bits).collect();
        let (rows, cols) = self.dims2();
        let half = |w: u32, i: usize| half::f16::from_bits((w >> (16 * i)) as u16).to_f32();
        let words_per_row = self.ld() / 2;
        Ok((0..rows * cols)
            .map(|e| (e / cols, e % cols))
            .map(|(r, c)| half(words[r * words_per_row + c / 2], c % 2))
            .collect())
    }

    /// Rows and columns.
    pub fn dims2(&self) -> (usize, usize) {
        (self.words.shape()[0], self.cols)
    }

    /// Elements from one row to the next: the column count rounded up to even.
    pub fn ld(&self) -> usize {
        self.cols.next_multiple_of(2)
    }

    /// The words (rows, ⌈cols/2⌉) as a tensor, to bind.
    pub fn words(&self) -> &Tensor {
        &self.words
    }
}

/// A matrix as a kernel sees it: f32 values in a tensor, or an f16 matrix.
#[derive(Clone, Copy, Debug)]
pub enum MatrixRef<'a> {
    /// An f32 tensor (1-D of length n reads as 1 × n).
    F32(&'a Tensor),
    /// An f16 matrix.
    F16(&'a HalfMatrix),
}

impl<'a> From<&'a Tensor> for MatrixRef<'a> {
    fn from(t: &'a Tensor) -> Self {
        Self::F32(t)
    }
}

impl<'a> From<&'a HalfMatrix> for MatrixRef<'a> {
    fn from(m: &'a HalfMatrix) -> Self {
        Self::F16(m)
    }
}

impl<'a> MatrixRef<'a> {
    /// Rows and columns.
    #[track_caller]
    pub fn dims2(self) -> (usize, usize) {
        match self {
            Self::F32(t) => t.dims2(),
            Self::F16(m) => m.dims2(),
        }
    }

    /// Whether the values are stored as f16.
    pub fn is_half(self) -> bool {
        matches!(self, Self::F16(_))
    }

    /// The tensor to bind (the words of an f16 matrix).
    pub fn tensor(self) -> &'a Tensor {
        match self {
            Self::F32(t) => t,
            Self::F16(m) => m.words(),
        }
    }
}

/// A matrix owned by a workspace: f32, or f16 under mixed precision.
#[derive(Clone, Debug)]
pub enum Matrix {
    /// f32 values.
    F32(Tensor),
    /// f16 values.
    F16(HalfMatrix),
}

impl Matrix {
    /// A (rows, cols) matrix with unspecified contents, stored as f16 when `half`.
    pub fn empty(gpu: &Gpu, (rows, cols): (usize, usize), half: bool) -> Result<Self> {
        Ok(if half { Self::F16(HalfMatrix::empty(gpu, rows, cols)?) } else { Self::F32(gpu.empty(&[rows, cols])?) })
    }

    /// Borrowed, to hand to a kernel.
    pub fn as_ref(&self) -> MatrixRef<'_> {
        match self {
            Self::F32(t) => MatrixRef::F32(t),
            Self::F16(m) => MatrixRef::F16(m),
        }
    }
}
