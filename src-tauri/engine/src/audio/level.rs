//! Input level for the mic meter: RMS and peak over ~50 ms windows (20 updates a second).

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Level {
    pub rms: f32,
    pub peak: f32,
}

#[derive(Debug)]
pub struct LevelMeter {
    window: usize,
    n: usize,
    sum_sq: f64,
    peak: f32,
}

impl LevelMeter {
    /// `rate` is the sample rate of what will be pushed; updates come every 50 ms.
    pub fn new(rate: u32) -> Self {
        Self { window: (rate as usize / 20).max(1), n: 0, sum_sq: 0.0, peak: 0.0 }
    }

    pub fn push(&mut self, samples: &[f32], mut on_level: impl FnMut(Level)) {
        for &s in samples {
            self.sum_sq += f64::from(s) * f64::from(s);
            self.peak = self.peak.max(s.abs());
            self.n += 1;
            if self.n == self.window {
                on_level(Level { rms: (self.sum_sq / self.n as f64).sqrt() as f32, peak: self.peak });
                self.n = 0;
                self.sum_sq = 0.0;
                self.peak = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_updates_a_second() {
        let mut m = LevelMeter::new(16_000);
        let mut levels = Vec::new();
        m.push(&vec![0.5; 16_000], |l| levels.push(l));
        assert_eq!(levels.len(), 20);
        assert!((levels[0].rms - 0.5).abs() < 1e-6 && (levels[0].peak - 0.5).abs() < 1e-6);
    }
}
