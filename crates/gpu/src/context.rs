//! Adapter and device selection, and the [`Gpu`] handle that owns the caches.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{GpuError, Result};
use crate::kernel::Kernel;
use crate::tensor::BufferPool;

/// How to choose the adapter. [`GpuOptions::from_env`] reads `TANDEM_BACKEND` and `TANDEM_ADAPTER`.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Backends to consider, e.g. "vulkan", "metal", "dx12", "gl" (comma-separated); `None` means all
    /// native ones, with GL only when nothing else is found.
    pub backend: Option<String>,
    /// Case-insensitive substring the adapter name must contain.
    pub adapter: Option<String>,
    /// Most bytes of tensors to allocate on the device; `None`: the available host memory on a CPU
    /// adapter, no limit beyond the driver's elsewhere (wgpu cannot query a GPU's memory).
    pub memory_budget: Option<u64>,
}

impl GpuOptions {
    /// Options from the environment: `TANDEM_BACKEND=vulkan`, `TANDEM_ADAPTER=<substring of the name>`,
    /// `TANDEM_DEVICE_MEMORY=<bytes, or with a KiB/MiB/GiB suffix>`.
    pub fn from_env() -> Result<Self> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let memory_budget = get("TANDEM_DEVICE_MEMORY")
            .map(|v| {
                parse_bytes(&v).ok_or_else(|| GpuError::Config {
                    message: format!("TANDEM_DEVICE_MEMORY={v}: expected bytes, e.g. 8GiB, 512MiB or 1000000"),
                })
            })
            .transpose()?;
        Ok(Self { backend: get("TANDEM_BACKEND"), adapter: get("TANDEM_ADAPTER"), memory_budget })
    }
}

/// `123`, `64KiB`, `512MiB`, `8GiB` (also KB/MB/GB as powers of 1000) as bytes.
fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(scale)
}

/// The host's available memory (`MemAvailable` in /proc/meminfo), where the OS reports it.
fn available_host_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The most bytes of tensors a device may hold, and where that figure came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryBudget {
    /// Bytes.
    pub bytes: u64,
    /// `TANDEM_DEVICE_MEMORY` or `available host memory (CPU adapter)`.
    pub source: &'static str,
}

/// A scratch tensor's role, recording thread and shape.
type ScratchKey = (&'static str, std::thread::ThreadId, Vec<usize>);

/// The device handle: adapter, device, queue, and the caches every kernel launch goes through.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    features: wgpu::Features,
    f16_conversion: bool,
    pub(crate) kernels: Mutex<HashMap<String, Arc<Kernel>>>,
    pub(crate) bind_groups: Mutex<HashMap<Vec<u64>, wgpu::BindGroup>>,
    pub(crate) uniforms: Mutex<HashMap<Vec<u8>, (u64, wgpu::Buffer)>>,
    pub(crate) pool: Arc<BufferPool>,
    pub(crate) scratch: Mutex<HashMap<ScratchKey, crate::Tensor>>,
    pub(crate) next_id: AtomicU64,
    pub(crate) stats: Counters,
    device_error: Arc<Mutex<Option<String>>>,
    pub(crate) memory_budget: Option<MemoryBudget>,
    /// Per-thread profiles: armed (false) or submitted and waiting to be read (true).
    pub(crate) profiles: Mutex<HashMap<std::thread::ThreadId, (crate::profiler::ProfileSlot, bool)>>,
}

/// How many wgpu objects the device layer has created: a steady-state training step must add none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuStats {
    /// Tensor buffers allocated (pool misses).
    pub buffers: u64,
    /// Bind groups created (cache misses).
    pub bind_groups: u64,
    /// Uniform parameter buffers created (cache misses).
    pub uniform_buffers: u64,
    /// Compute pipelines compiled (cache misses).
    pub pipelines: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub buffers: AtomicU64,
    pub bind_groups: AtomicU64,
    pub uniform_buffers: AtomicU64,
    pub pipelines: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How to get a GPU adapter when there is none.
const NO_ADAPTER_HINT: &str = "tandem needs a Vulkan, Metal or DX12 device. On Linux without a GPU install \
Mesa's software Vulkan driver lavapipe: `sudo apt-get install mesa-vulkan-drivers libvulkan1` (Debian/Ubuntu). \
Set TANDEM_BACKEND (vulkan, metal, dx12, gl) or TANDEM_ADAPTER (a substring of the adapter name) to choose one.";

fn parse_backends(spec: &str) -> Result<wgpu::Backends> {
    let mut out = wgpu::Backends::empty();
    for part in spec.split(',').map(|s| s.trim().to_ascii_lowercase()) {
        out |= match part.as_str() {
            "vulkan" | "vk" => wgpu::Backends::VULKAN,
            "metal" | "mtl" => wgpu::Backends::METAL,
            "dx12" | "d3d12" => wgpu::Backends::DX12,
            "gl" | "gles" | "opengl" => wgpu::Backends::GL,
            other => {
                return Err(GpuError::NoAdapter {
                    filter: format!(" (TANDEM_BACKEND={spec})"),
                    hint: format!("unknown backend '{other}'; use vulkan, metal, dx12 or gl"),
                });
            }
        };
    }
    Ok(out)
}

impl Gpu {
    /// Opens the adapter chosen by the environment (`TANDEM_BACKEND`, `TANDEM_ADAPTER`).
    pub fn new() -> Result<Self> {
        Self::with_options(&GpuOptions::from_env()?)
    }

    /// Opens an adapter chosen by `opts`, requesting the adapter's own limits and the optional
    /// features tandem can use (subgroups, f16, timestamps) where the adapter has them.
    pub fn with_options(opts: &GpuOptions) -> Result<Self> {
        let explicit = opts.backend.as_deref().map(parse_backends).transpose()?;
        let native = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
        // GL is a last resort: it is only enumerated when no native adapter matches.
        let mut adapter = pick_adapter(enumerate(explicit.unwrap_or(native)), opts);
        if adapter.is_none() && explicit.is_none() {
            adapter = pick_adapter(enumerate(wgpu::Backends::GL), opts);
        }
        let adapter = adapter.ok_or_else(|| {
            let mut filter = String::new();
            if let Some(b) = &opts.backend {
                filter += &format!(" (TANDEM_BACKEND={b})");
            }
            if let Some(a) = &opts.adapter {
                filter += &format!(" (TANDEM_ADAPTER={a})");
            }
            GpuError::NoAdapter { filter, hint: NO_ADAPTER_HINT.to_string() }
        })?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let wanted = wgpu::Features::SUBGROUP
            | wgpu::Features::SHADER_F16
            | wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS;
        let features = adapter.features() & wanted;
        let f16_conversion =
            adapter.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::SHADER_F16_IN_F32);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tandem"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::RequestDevice { adapter: info.name.clone(), message: e.to_string() })?;

        let device_error = Arc::new(Mutex::new(None));
        let sink = device_error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            tracing::error!("wgpu: {e}");
            sink.lock().unwrap().get_or_insert_with(|| e.to_string());
        }));
        let lost = device_error.clone();
        device.set_device_lost_callback(move |reason, msg| {
            lost.lock().unwrap().get_or_insert_with(|| format!("device lost ({reason:?}): {msg}"));
        });

        tracing::info!(
            adapter = %info.name,
            backend = ?info.backend,
            device_type = ?info.device_type,
            driver = %info.driver,
            driver_info = %info.driver_info,
            "opened GPU adapter"
        );
        tracing::info!(
            max_storage_buffer_binding_size = limits.max_storage_buffer_binding_size,
            max_buffer_size = limits.max_buffer_size,
            max_compute_workgroup_storage_size = limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup = limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension = limits.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_shader_stage = limits.max_storage_buffers_per_shader_stage,
            subgroup_min_size = info.subgroup_min_size,
            subgroup_max_size = info.subgroup_max_size,
            features = ?features,
            "device limits"
        );
        let memory_budget = match opts.memory_budget {
            Some(bytes) => Some(MemoryBudget { bytes, source: "TANDEM_DEVICE_MEMORY" }),
            None if info.device_type == wgpu::DeviceType::Cpu => available_host_memory()
                .map(|bytes| MemoryBudget { bytes, source: "available host memory (CPU adapter)" }),
            None => None,
        };
        if let Some(b) = &memory_budget {
            tracing::info!(bytes = b.bytes, source = b.source, "device memory budget");
        }
        let pool = Arc::new(BufferPool::default());
        Ok(Self {
            device,
            queue,
            info,
            limits,
            features,
            f16_conversion,
            kernels: Mutex::default(),
            bind_groups: Mutex::default(),
            uniforms: Mutex::default(),
            pool,
            scratch: Mutex::default(),
            next_id: AtomicU64::new(1),
            stats: Counters::default(),
            device_error,
            memory_budget,
            profiles: Mutex::default(),
        })
    }

    /// The most bytes of tensors this device may hold, when known; allocations past it are refused.
    pub fn memory_budget(&self) -> Option<&MemoryBudget> {
        self.memory_budget.as_ref()
    }

    /// The wgpu device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Adapter name, backend, driver and subgroup sizes.
    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The limits the device was created with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// The optional features enabled on the device.
    pub fn features(&self) -> wgpu::Features {
        self.features
    }

    /// True when shaders can convert between f32 and f16 (`pack2x16float`, `unpack2x16float`): every
    /// Vulkan, Metal and DX12 device; f16 GEMM operands (mixed precision) need it.
    pub fn has_f16_conversion(&self) -> bool {
        self.f16_conversion
    }

    /// The most loop iterations one shader invocation may run, all its loops together, where the driver
    /// caps them: llvmpipe (lavapipe) silently stops looping after 65,535 (Mesa's
    /// `LP_MAX_TGSI_LOOP_ITERATIONS`). `None` on other devices. Kernels are built to stay below it; a job
    /// whose size would exceed it is refused with this number.
    pub fn loop_budget(&self) -> Option<u64> {
        (self.info.device_type == wgpu::DeviceType::Cpu && self.info.name.contains("llvmpipe")).then_some(65_535)
    }

    /// True when subgroup operations are enabled and every subgroup has exactly `size` lanes.
    pub fn has_fixed_subgroup_size(&self, size: u32) -> bool {
        self.features.contains(wgpu::Features::SUBGROUP)
            && self.info.subgroup_min_size == size
            && self.info.subgroup_max_size == size
    }

    /// A one-line description: "name (backend, type)".
    pub fn describe(&self) -> String {
        format!("{} ({:?}, {:?})", self.info.name, self.info.backend, self.info.device_type)
    }

    pub(crate) fn fresh_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Blocks until all submitted work is done; reports device errors raised so far.
    pub fn synchronize(&self) -> Result<()> {
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Device(e.to_string()))?;
        self.check_device_error()
    }

    /// Returns (and clears) the first uncaptured device error, if one happened.
    pub fn check_device_error(&self) -> Result<()> {
        match self.device_error.lock().unwrap().take() {
            Some(msg) => Err(GpuError::Device(msg)),
            None => Ok(()),
        }
    }

    /// A persistent scratch tensor for `role` and `shape`: the same buffer every call, so kernels that need
    /// temporary space (GEMM panels, unused gradient bindings) hit the bind-group cache every step.
    /// Dispatches that use it are ordered (one queue, barriers between dispatches), so reusing it across
    /// calls within and between recordings of one thread is safe; each thread gets its own buffers, and two
    /// bindings of one dispatch need distinct roles.
    pub fn scratch(&self, role: &'static str, shape: &[usize]) -> Result<crate::Tensor> {
        // Per recording thread: two threads recording at once must not share a scratch buffer.
        let key = (role, std::thread::current().id(), shape.to_vec());
        let mut cache = self.scratch.lock().unwrap();
        if let Some(t) = cache.get(&key) {
            return Ok(t.clone());
        }
        let t = self.empty(shape)?;
        cache.insert(key, t.clone());
        Ok(t)
    }

    /// Frees the pooled buffers no tensor uses (after a one-off reorganisation, such as packing parameters,
    /// whose old buffers no later allocation of the same size would reuse).
    pub fn release_free_buffers(&self) {
        self.pool.clear();
    }

    /// Drops pooled buffers, scratch tensors and cached bind groups and parameter buffers (pipelines
    /// stay).
    pub fn trim(&self) {
        self.scratch.lock().unwrap().clear();
        self.bind_groups.lock().unwrap().clear();
        self.uniforms.lock().unwrap().clear();
        self.pool.clear();
    }

    /// Counts of wgpu objects created so far.
    pub fn stats(&self) -> GpuStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GpuStats {
            buffers: get(&self.stats.buffers),
            bind_groups: get(&self.stats.bind_groups),
            uniform_buffers: get(&self.stats.uniform_buffers),
            pipelines: get(&self.stats.pipelines),
        }
    }

    /// Bytes currently held by live tensors and the reuse pool together.
    pub fn allocated_bytes(&self) -> u64 {
        self.pool.allocated_bytes()
    }
}

fn enumerate(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    pollster::block_on(wgpu::Instance::new(desc).enumerate_adapters(backends))
}

/// Picks the best adapter that matches the name filter: discrete > integrated > virtual > CPU.
fn pick_adapter(adapters: Vec<wgpu::Adapter>, opts: &GpuOptions) -> Option<wgpu::Adapter> {
    let needle = opts.adapter.as_ref().map(|s| s.to_ascii_lowercase());
    let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    adapters
        .into_iter()
        .filter(|a| {
            let info = a.get_info();
            info.backend != wgpu::Backend::Noop
                && needle.as_ref().is_none_or(|n| info.name.to_ascii_lowercase().contains(n))
        })
        .min_by_key(rank)
}
