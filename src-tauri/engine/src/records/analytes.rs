//! Canonical names for the most common lab tests, so "HDL-C", "Cholesterol, HDL" and
//! "HDL Cholesterol" are one test, and the answer check can find a test however it is named.

use std::collections::HashMap;
use std::sync::LazyLock;

/// (canonical key, name shown to people, names labs print).
const TABLE: &[(&str, &str, &[&str])] = &[
    // Lipids
    ("total_cholesterol", "Total cholesterol", &["Total Cholesterol", "Cholesterol", "Cholesterol Total", "CHOL", "TC", "Serum Cholesterol"]),
    ("ldl", "LDL cholesterol", &["LDL", "LDL Cholesterol", "LDL-C", "LDL Chol", "LDL Calc", "LDL Chol Calc (NIH)", "LDL Cholesterol Calc", "Low Density Lipoprotein", "LDL Direct", "Low-Density Lipoprotein Cholesterol"]),
    ("hdl", "HDL cholesterol", &["HDL", "HDL Cholesterol", "HDL-C", "HDL Chol", "High Density Lipoprotein", "High-Density Lipoprotein Cholesterol"]),
    ("triglycerides", "Triglycerides", &["Triglycerides", "Triglyceride", "TRIG", "TG", "TRIGS"]),
    ("non_hdl", "Non-HDL cholesterol", &["Non-HDL Cholesterol", "Non HDL", "Non-HDL-C", "Non-HDL Chol", "Non HDL Cholesterol"]),
    // Blood count
    ("wbc", "White blood cells", &["WBC", "White Blood Cells", "White Blood Cell Count", "White Cell Count", "Leukocytes", "WCC", "Leucocytes", "Total WBC"]),
    ("rbc", "Red blood cells", &["RBC", "Red Blood Cells", "Red Blood Cell Count", "Red Cell Count", "Erythrocytes"]),
    ("hemoglobin", "Haemoglobin", &["Hemoglobin", "Haemoglobin", "Hgb", "Hb"]),
    ("hematocrit", "Haematocrit", &["Hematocrit", "Haematocrit", "Hct", "PCV", "Packed Cell Volume"]),
    ("mcv", "Mean cell volume (MCV)", &["MCV", "Mean Corpuscular Volume", "Mean Cell Volume"]),
    ("mch", "Mean cell haemoglobin (MCH)", &["MCH", "Mean Corpuscular Hemoglobin", "Mean Cell Haemoglobin", "Mean Cell Hemoglobin"]),
    ("mchc", "MCHC", &["MCHC", "Mean Corpuscular Hemoglobin Concentration", "Mean Cell Haemoglobin Concentration"]),
    ("rdw", "Red cell distribution width (RDW)", &["RDW", "RDW-CV", "Red Cell Distribution Width", "RDW CV"]),
    ("platelets", "Platelets", &["Platelets", "Platelet Count", "PLT", "Platelet", "Thrombocytes"]),
    ("mpv", "Mean platelet volume (MPV)", &["MPV", "Mean Platelet Volume"]),
    ("neutrophils", "Neutrophils", &["Neutrophils", "Neutrophils Absolute", "Absolute Neutrophils", "Neut", "Neutrophil", "ANC", "Neutrophils (Absolute)"]),
    ("lymphocytes", "Lymphocytes", &["Lymphocytes", "Lymphocytes Absolute", "Absolute Lymphocytes", "Lymphs", "Lymph", "Lymphocyte"]),
    ("monocytes", "Monocytes", &["Monocytes", "Monocytes Absolute", "Absolute Monocytes", "Monos", "Mono", "Monocyte"]),
    ("eosinophils", "Eosinophils", &["Eosinophils", "Eosinophils Absolute", "Absolute Eosinophils", "Eos", "Eosinophil"]),
    ("basophils", "Basophils", &["Basophils", "Basophils Absolute", "Absolute Basophils", "Basos", "Baso", "Basophil"]),
    // Iron studies
    ("iron", "Iron", &["Iron", "Serum Iron", "Fe", "Iron Total"]),
    ("ferritin", "Ferritin", &["Ferritin", "Serum Ferritin"]),
    ("tibc", "Total iron-binding capacity (TIBC)", &["TIBC", "Total Iron Binding Capacity", "Iron Binding Capacity"]),
    ("transferrin", "Transferrin", &["Transferrin"]),
    ("transferrin_saturation", "Transferrin saturation", &["Transferrin Saturation", "Iron Saturation", "TSAT", "% Saturation", "Iron Sat", "Saturation"]),
    // Metabolic panel
    ("glucose", "Glucose", &["Glucose", "Fasting Glucose", "Glu", "FBG", "Fasting Blood Sugar", "Blood Sugar", "FPG", "Fasting Plasma Glucose", "Blood Glucose"]),
    ("sodium", "Sodium", &["Sodium", "Na"]),
    ("potassium", "Potassium", &["Potassium", "K"]),
    ("chloride", "Chloride", &["Chloride", "Cl"]),
    ("bicarbonate", "Bicarbonate (CO2)", &["Bicarbonate", "CO2", "Carbon Dioxide", "Total CO2", "HCO3", "Carbon Dioxide Total"]),
    ("bun", "Urea nitrogen (BUN)", &["BUN", "Urea Nitrogen", "Blood Urea Nitrogen", "Urea"]),
    ("creatinine", "Creatinine", &["Creatinine", "Creat", "Cr", "Crea"]),
    ("egfr", "eGFR (kidney filtration)", &["eGFR", "GFR", "Estimated GFR", "eGFR CKD-EPI", "Glomerular Filtration Rate", "Estimated Glomerular Filtration Rate"]),
    ("calcium", "Calcium", &["Calcium", "Ca", "Calcium Total", "Total Calcium"]),
    ("albumin", "Albumin", &["Albumin", "Alb"]),
    ("total_protein", "Total protein", &["Total Protein", "Protein Total", "Protein", "TP"]),
    ("globulin", "Globulin", &["Globulin", "Globulin Total", "Total Globulin"]),
    ("magnesium", "Magnesium", &["Magnesium", "Mg"]),
    ("phosphate", "Phosphate", &["Phosphate", "Phosphorus", "Phos", "Inorganic Phosphate", "Inorganic Phosphorus"]),
    // Liver
    ("alt", "ALT (liver enzyme)", &["ALT", "ALT (SGPT)", "SGPT", "Alanine Aminotransferase", "Alanine Transaminase", "GPT"]),
    ("ast", "AST (liver enzyme)", &["AST", "AST (SGOT)", "SGOT", "Aspartate Aminotransferase", "Aspartate Transaminase", "GOT"]),
    ("alp", "Alkaline phosphatase (ALP)", &["ALP", "Alkaline Phosphatase", "Alk Phos", "Alk Phosphatase"]),
    ("ggt", "GGT (liver enzyme)", &["GGT", "Gamma GT", "Gamma-Glutamyl Transferase", "GGTP", "Gamma Glutamyltransferase", "Gamma-GT"]),
    ("bilirubin_total", "Bilirubin (total)", &["Bilirubin", "Total Bilirubin", "Bilirubin Total", "T Bili", "TBIL"]),
    ("bilirubin_direct", "Bilirubin (direct)", &["Direct Bilirubin", "Bilirubin Direct", "Conjugated Bilirubin", "DBIL"]),
    // Thyroid
    ("tsh", "TSH (thyroid)", &["TSH", "Thyroid Stimulating Hormone", "Thyrotropin"]),
    ("free_t4", "Free T4 (thyroid)", &["Free T4", "FT4", "T4 Free", "Free Thyroxine", "Thyroxine Free"]),
    ("free_t3", "Free T3 (thyroid)", &["Free T3", "FT3", "T3 Free", "Free Triiodothyronine"]),
    // Diabetes
    ("hba1c", "HbA1c (average blood sugar)", &["HbA1c", "Hemoglobin A1c", "Haemoglobin A1c", "A1c", "Glycated Hemoglobin", "Glycated Haemoglobin", "Glycohemoglobin", "HgbA1c", "Hb A1c", "Hgb A1c"]),
    // Vitamins
    ("vitamin_d", "Vitamin D", &["Vitamin D", "25-OH Vitamin D", "Vitamin D 25-Hydroxy", "25-Hydroxyvitamin D", "Vitamin D, 25-Hydroxy", "25(OH)D", "Vit D", "Calcidiol", "Vitamin D Total", "25-Hydroxy Vitamin D", "25 OH Vitamin D"]),
    ("vitamin_b12", "Vitamin B12", &["Vitamin B12", "Vitamin B-12", "Vit B-12", "B12", "Cobalamin", "Vit B12", "Cyanocobalamin"]),
    ("folate", "Folate", &["Folate", "Folic Acid", "Serum Folate"]),
    // Others
    ("uric_acid", "Uric acid", &["Uric Acid", "Urate"]),
    ("crp", "C-reactive protein (CRP)", &["CRP", "C-Reactive Protein", "hs-CRP", "hsCRP", "High Sensitivity CRP", "C Reactive Protein"]),
    ("esr", "ESR (sedimentation rate)", &["ESR", "Sed Rate", "Erythrocyte Sedimentation Rate", "Sedimentation Rate"]),
    ("psa", "PSA", &["PSA", "Prostate Specific Antigen", "Prostate Specific Ag", "PSA Screen", "PSA Total", "Total PSA"]),
    ("inr", "INR (clotting)", &["INR", "PT INR", "Prothrombin INR", "International Normalized Ratio"]),
];

/// Words that do not change which test a name means.
const NOISE_WORDS: &[&str] = &[
    "serum", "plasma", "blood", "whole", "level", "levels", "calc", "calculated", "fasting", "random",
    "test", "result", "count", "quantitative", "the", "measured",
];

/// A name reduced to its words, lower-case, sorted, without noise words: "Cholesterol, HDL"
/// and "HDL Cholesterol" both become "cholesterol hdl".
fn key(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !NOISE_WORDS.contains(w))
        .collect();
    words.sort_unstable();
    words.dedup();
    words.join(" ")
}

static BY_KEY: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (canonical, display, aliases) in TABLE {
        map.insert(key(canonical.replace('_', " ").as_str()), *canonical);
        map.insert(key(display), *canonical);
        for alias in *aliases {
            map.insert(key(alias), *canonical);
        }
    }
    map
});

/// The canonical key of a test name as printed ("HDL-C" → "hdl"), if it is a common test.
/// "Potassium (K)" is potassium: a name in brackets after it may repeat it or qualify it, so
/// the name without the brackets is tried, and the two must not name different tests.
/// "Ca++" and "Ca 2+" (ionised calcium) are not total calcium, and urine tests are not the
/// blood tests of the same name.
pub fn canonical(name: &str) -> Option<&'static str> {
    if name.contains("++") || name.contains("2+") || name.to_lowercase().contains("urin") {
        return None;
    }
    let whole = lookup(name);
    if whole.is_some() {
        return whole;
    }
    let (outer, inner) = match (name.find('('), name.rfind(')')) {
        (Some(open), Some(close)) if open < close => (format!("{} {}", &name[..open], &name[close + 1..]), &name[open + 1..close]),
        _ => return None,
    };
    match (lookup(&outer), lookup(inner)) {
        (Some(a), Some(b)) if a != b => None,
        (Some(a), _) => Some(a),
        _ => None,
    }
}

fn lookup(name: &str) -> Option<&'static str> {
    let k = key(name);
    if k.is_empty() {
        return None;
    }
    BY_KEY.get(&k).copied()
}

/// The name shown to people for a canonical key.
pub fn display_name(canonical: &str) -> Option<&'static str> {
    TABLE.iter().find(|(c, ..)| *c == canonical).map(|(_, d, _)| *d)
}

/// The names a test goes by (for finding it in an answer).
pub fn aliases(canonical: &str) -> &'static [&'static str] {
    TABLE.iter().find(|(c, ..)| *c == canonical).map_or(&[], |(_, _, a)| a)
}

/// Every canonical key.
pub fn all() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(c, ..)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_labs_print_map_to_one_test() {
        for (name, want) in [
            ("HDL-C", "hdl"),
            ("Cholesterol, HDL", "hdl"),
            ("HDL Cholesterol", "hdl"),
            ("Cholesterol, Total", "total_cholesterol"),
            ("LDL Chol Calc (NIH)", "ldl"),
            ("Glucose, Fasting", "glucose"),
            ("Hemoglobin A1c", "hba1c"),
            ("Hemoglobin", "hemoglobin"),
            ("Haemoglobin", "hemoglobin"),
            ("Vitamin D, 25-Hydroxy", "vitamin_d"),
            ("T4, Free", "free_t4"),
            ("Platelet Count", "platelets"),
            ("Sodium, Serum", "sodium"),
            ("AST (SGOT)", "ast"),
            ("K", "potassium"),
            ("Potassium (K)", "potassium"),
            ("Sodium (Na)", "sodium"),
            ("Hemoglobin (Hgb)", "hemoglobin"),
            ("Glucose (GLU)", "glucose"),
            ("Calcium (Ca)", "calcium"),
            ("Glucose (fasting)", "glucose"),
        ] {
            assert_eq!(canonical(name), Some(want), "{name}");
        }
        for name in ["Hemoglobin see comment", "Vitamin A", "Result pending", "", "Ca++", "Calcium, ionised", "Potassium (urine)"] {
            assert_eq!(canonical(name), None, "{name}");
        }
    }

    #[test]
    fn the_table_is_consistent() {
        assert!(all().count() >= 55, "about 60 common tests");
        // No alias may name two tests.
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (c, d, aliases) in TABLE {
            assert!(display_name(c) == Some(*d));
            for a in aliases.iter().copied().chain([*d]) {
                if let Some(other) = seen.insert(key(a), c) {
                    assert_eq!(other, *c, "{a:?} names both {other} and {c}");
                }
            }
        }
    }
}
