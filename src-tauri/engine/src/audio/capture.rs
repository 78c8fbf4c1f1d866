//! Microphone capture with cpal. The audio callback only converts samples to f32 and writes
//! them into a lock-free ring buffer (rtrb): no allocation, no lock, no syscall. Everything else
//! (downmix, resampling, voice activity, Whisper) happens on other threads.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use crate::worker::{Ready, Worker};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    #[error("no microphone found")]
    NoDevice,
    #[error("no input device named {0:?}")]
    DeviceNotFound(String),
    #[error("microphone access was denied: allow Murmur to use the microphone in the system settings")]
    PermissionDenied,
    #[error("the microphone is in use by another app")]
    Busy,
    #[error("the microphone was disconnected while recording")]
    DeviceLost,
    #[error("the microphone does not offer a usable format: {0}")]
    UnsupportedConfig(String),
    #[error("audio system error: {0}")]
    Backend(String),
}

impl crate::error::Coded for CaptureError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode as C;
        match self {
            Self::NoDevice | Self::DeviceNotFound(_) => C::MicNotFound,
            Self::PermissionDenied => C::MicPermissionDenied,
            Self::Busy => C::MicBusy,
            Self::DeviceLost => C::MicDisconnected,
            Self::UnsupportedConfig(_) => C::MicUnsupportedFormat,
            Self::Backend(_) => C::MicBackend,
        }
    }
}

impl From<crate::worker::WorkerError> for CaptureError {
    fn from(e: crate::worker::WorkerError) -> Self {
        Self::Backend(e.to_string())
    }
}

impl CaptureError {
    fn from_cpal(e: &cpal::Error, while_running: bool) -> Self {
        use cpal::ErrorKind as K;
        match e.kind() {
            K::PermissionDenied => Self::PermissionDenied,
            K::DeviceBusy => Self::Busy,
            K::DeviceNotAvailable | K::StreamInvalidated if while_running => Self::DeviceLost,
            K::DeviceNotAvailable | K::HostUnavailable => Self::NoDevice,
            K::UnsupportedConfig => Self::UnsupportedConfig(e.to_string()),
            _ => Self::Backend(e.to_string()),
        }
    }
}

/// An input device as the person would pick it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InputDevice {
    pub name: String,
    pub is_default: bool,
    pub sample_rate: u32,
    pub channels: u16,
    pub sample_format: String,
}

fn device_name(d: &cpal::Device) -> String {
    d.description().map(|d| d.name().to_string()).unwrap_or_else(|_| "unknown device".to_string())
}

/// The input devices of the default audio host.
pub fn input_devices() -> Result<Vec<InputDevice>, CaptureError> {
    let host = cpal::default_host();
    let default = host.default_input_device().map(|d| device_name(&d));
    let devices = host.input_devices().map_err(|e| CaptureError::from_cpal(&e, false))?;
    Ok(devices
        .filter_map(|d| {
            let config = d.default_input_config().ok()?;
            let name = device_name(&d);
            Some(InputDevice {
                is_default: default.as_deref() == Some(name.as_str()),
                name,
                sample_rate: config.sample_rate(),
                channels: config.channels(),
                sample_format: format!("{:?}", config.sample_format()),
            })
        })
        .collect())
}

fn find_device(name: Option<&str>) -> Result<cpal::Device, CaptureError> {
    let host = cpal::default_host();
    match name {
        None => host.default_input_device().ok_or(CaptureError::NoDevice),
        Some(want) => host
            .input_devices()
            .map_err(|e| CaptureError::from_cpal(&e, false))?
            .find(|d| device_name(d) == want)
            .ok_or_else(|| CaptureError::DeviceNotFound(want.to_string())),
    }
}

/// A running microphone stream. Samples are interleaved f32 at the device's rate and
/// channel count; read them with [`Capture::read`]. Dropping it stops the device.
pub struct Capture {
    consumer: rtrb::Consumer<f32>,
    pub device: String,
    pub sample_rate: u32,
    pub channels: u16,
    errors: Receiver<CaptureError>,
    dropped: Arc<AtomicUsize>,
    /// cpal streams are not `Send` on every platform: the stream lives and dies on this
    /// worker's thread, which holds it until the worker is dropped.
    _worker: Worker<Infallible>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("device", &self.device).field("sample_rate", &self.sample_rate).field("channels", &self.channels).finish()
    }
}

impl Capture {
    /// Opens the named input device (or the default one) and starts recording.
    pub fn start(device: Option<&str>) -> Result<Self, CaptureError> {
        let (err_tx, errors) = channel();
        let dropped = Arc::new(AtomicUsize::new(0));
        let device = device.map(str::to_string);
        let dropped_t = dropped.clone();
        let (worker, (consumer, device, sample_rate, channels)) =
            Worker::<Infallible>::spawn("mic", move |ready: Ready<_, CaptureError>, inbox| {
                let stream = match open_stream(device.as_deref(), err_tx, dropped_t) {
                    Ok((stream, info)) => {
                        ready.ok(info);
                        stream
                    }
                    Err(e) => return ready.fail(e),
                };
                // No requests: this only returns when the Capture is dropped.
                while inbox.next().is_some() {}
                drop(stream);
            })?;
        Ok(Self { consumer, device, sample_rate, channels, errors, dropped, _worker: worker })
    }

    /// Moves the samples recorded so far (whole frames) into `out`. Fails if the device
    /// was lost.
    pub fn read(&mut self, out: &mut Vec<f32>) -> Result<(), CaptureError> {
        if let Ok(e) = self.errors.try_recv() {
            return Err(e);
        }
        let available = self.consumer.slots();
        let whole = available - available % usize::from(self.channels.max(1));
        if whole > 0 {
            if let Ok(chunk) = self.consumer.read_chunk(whole) {
                let (a, b) = chunk.as_slices();
                out.extend_from_slice(a);
                out.extend_from_slice(b);
                chunk.commit_all();
            }
        }
        Ok(())
    }

    /// Samples the callback had to drop because nobody read them in time.
    pub fn dropped_samples(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }
}

type Opened = (cpal::Stream, (rtrb::Consumer<f32>, String, u32, u16));

fn open_stream(name: Option<&str>, errors: Sender<CaptureError>, dropped: Arc<AtomicUsize>) -> Result<Opened, CaptureError> {
    let device = find_device(name)?;
    let supported = device.default_input_config().map_err(|e| CaptureError::from_cpal(&e, false))?;
    let (rate, channels) = (supported.sample_rate(), supported.channels());
    let format = supported.sample_format();
    let attempt = |buffer_size: cpal::BufferSize| -> Result<(cpal::Stream, rtrb::Consumer<f32>), CaptureError> {
        // Ten seconds of headroom: the reader drains it every few tens of milliseconds.
        let (producer, consumer) = rtrb::RingBuffer::<f32>::new(rate as usize * usize::from(channels) * 10);
        let mut config = supported.config();
        config.buffer_size = buffer_size;
        Ok((build(&device, format, config, producer, errors.clone(), dropped.clone())?, consumer))
    };
    // A fixed, small buffer keeps latency low and helped PulseAudio deliver steadily; fall
    // back to the device default if refused.
    let (stream, consumer) = attempt(cpal::BufferSize::Fixed(1024)).or_else(|_| attempt(cpal::BufferSize::Default))?;
    stream.play().map_err(|e| CaptureError::from_cpal(&e, false))?;
    Ok((stream, (consumer, device_name(&device), rate, channels)))
}

fn build(
    device: &cpal::Device,
    format: cpal::SampleFormat,
    config: cpal::StreamConfig,
    producer: rtrb::Producer<f32>,
    errors: Sender<CaptureError>,
    dropped: Arc<AtomicUsize>,
) -> Result<cpal::Stream, CaptureError> {
    use cpal::SampleFormat as F;
    match format {
        F::F32 => build_typed::<f32>(device, config, producer, errors, dropped),
        F::I16 => build_typed::<i16>(device, config, producer, errors, dropped),
        F::U16 => build_typed::<u16>(device, config, producer, errors, dropped),
        F::I32 => build_typed::<i32>(device, config, producer, errors, dropped),
        F::I8 => build_typed::<i8>(device, config, producer, errors, dropped),
        F::U8 => build_typed::<u8>(device, config, producer, errors, dropped),
        F::F64 => build_typed::<f64>(device, config, producer, errors, dropped),
        other => Err(CaptureError::UnsupportedConfig(format!("sample format {other:?}"))),
    }
}

fn build_typed<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut producer: rtrb::Producer<f32>,
    errors: Sender<CaptureError>,
    dropped: Arc<AtomicUsize>,
) -> Result<cpal::Stream, CaptureError>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let on_data = move |data: &[T], _: &cpal::InputCallbackInfo| {
        // Real-time context: no allocation, no locks.
        let n = data.len().min(producer.slots());
        if let Ok(mut chunk) = producer.write_chunk_uninit(n) {
            let (a, b) = chunk.as_mut_slices();
            for (dst, src) in a.iter_mut().chain(b.iter_mut()).zip(data) {
                dst.write(src.to_sample::<f32>());
            }
            // SAFETY: all n slots were initialised above.
            unsafe { chunk.commit_all() };
        }
        if n < data.len() {
            dropped.fetch_add(data.len() - n, Ordering::Relaxed);
        }
    };
    let on_error = move |e: cpal::Error| {
        let _ = errors.send(CaptureError::from_cpal(&e, true));
    };
    device.build_input_stream(config, on_data, on_error, None).map_err(|e| CaptureError::from_cpal(&e, false))
}
