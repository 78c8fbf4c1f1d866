"""The analytes the synthetic lab reports are made of (used by records_gen.py).

Each analyte has a canonical key (the parser's key, exactly), the names labs print for it, and
one or more ways it is reported in each unit family: "us" (mg/dL, g/dL, x10E3/uL, ...) and
"si" (mmol/L, µmol/L, g/L, x10^9/L, ...). A report picks one family and, per analyte, one of
that family's specs (so the same report never mixes two labs' conventions for one analyte).

Ranges are written in a neutral notation here and re-printed in each layout's own style:
  "3.5-5.1"  two-sided, inclusive both ends
  "<200"     high=200, exclusive        "<=5.6"  high=5.6, inclusive
  ">39"      low=39, exclusive          ">=60"   low=60, inclusive
Numbers in this file use a dot and no thousands separators. Only units from the parser's unit
list (plus "/uL" for counts printed with thousands separators) are used.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """One way a lab reports an analyte.

    unit       printed unit, or None for unitless results (INR)
    range      reference range in the neutral notation above
    decimals   decimals printed for values (default: the range's)
    step       smallest printed change of a value (default: 10 ** -decimals), e.g. 1000 for
               platelets printed as "237,000"
    crit_low / crit_high  (lo, hi) interval of critical values, outside the range
    far_high   (lo, hi) interval for far-out high values, when the default (range + 25..150 %
               of its width) is not realistic
    qualified  values printed with a qualifier, e.g. ("<0.5",) for CRP or (">60",) for eGFR
    """
    unit: str | None
    range: str
    decimals: int | None = None
    step: str | None = None
    crit_low: tuple[str, str] | None = None
    crit_high: tuple[str, str] | None = None
    far_high: tuple[str, str] | None = None
    qualified: tuple[str, ...] = ()


@dataclass(frozen=True)
class Analyte:
    """A canonical analyte, the names printed for it, and its specs per unit family."""
    canonical: str
    names: tuple[str, ...]
    us: tuple[Spec, ...]
    si: tuple[Spec, ...]
    eu_names: tuple[str, ...] = ()

    def names_for(self, european: bool) -> tuple[str, ...]:
        """Printed names for a European (British-spelling) report or any other."""
        return self.eu_names if european and self.eu_names else self.names


def _a(canonical, names, us, si, eu_names=()):
    return Analyte(canonical, tuple(names), tuple(us), tuple(si), tuple(eu_names))


S = Spec
EGFR = "mL/min/1.73m2"

ANALYTES = {a.canonical: a for a in [
    # Lipids
    _a("total_cholesterol", ["Cholesterol, Total", "Total Cholesterol", "Cholesterol"],
       [S("mg/dL", "100-199"), S("mg/dL", "<200")],
       [S("mmol/L", "<5.2"), S("mmol/L", "<=5.0")],
       ["Cholesterol, total", "Total cholesterol", "Cholesterol"]),
    _a("ldl", ["LDL Cholesterol", "LDL-C", "Cholesterol, LDL", "LDL"],
       [S("mg/dL", "0-99"), S("mg/dL", "<100")],
       [S("mmol/L", "<3.0"), S("mmol/L", "<2.6")],
       ["LDL cholesterol", "LDL-C", "LDL"]),
    _a("hdl", ["HDL Cholesterol", "HDL-C", "Cholesterol, HDL", "HDL"],
       [S("mg/dL", ">39"), S("mg/dL", ">=40"), S("mg/dL", ">40")],
       [S("mmol/L", ">1.0"), S("mmol/L", ">=1.2")],
       ["HDL cholesterol", "HDL-C", "HDL"]),
    _a("triglycerides", ["Triglycerides", "Triglyceride", "TRIG"],
       [S("mg/dL", "0-149", far_high=("400", "1400")), S("mg/dL", "<150", far_high=("400", "1400"))],
       [S("mmol/L", "<1.7"), S("mmol/L", "0.45-1.70")],
       ["Triglycerides", "Triglyceride"]),
    _a("non_hdl", ["Non-HDL Cholesterol", "Non-HDL-C", "Cholesterol, Non-HDL"],
       [S("mg/dL", "0-129"), S("mg/dL", "<130")],
       [S("mmol/L", "<3.4"), S("mmol/L", "<=3.8")],
       ["Non-HDL cholesterol", "Non-HDL-C"]),
    # Complete blood count
    _a("wbc", ["WBC", "White Blood Cell Count", "White Blood Cells"],
       [S("x10E3/uL", "3.4-10.8", crit_low=("0.8", "1.4"), crit_high=("32.0", "48.0")),
        S("/uL", "4500-11000", step="100", crit_high=("32000", "48000"))],
       [S("x10^9/L", "4.0-11.0", crit_low=("0.8", "1.4"), crit_high=("32.0", "48.0")),
        S("/uL", "4000-10000", step="100")],
       ["Leukocytes", "WBC", "White cell count"]),
    _a("rbc", ["RBC", "Red Blood Cell Count", "Red Blood Cells"],
       [S("10^12/L", "4.14-5.80"), S("10^12/L", "3.77-5.28")],
       [S("10^12/L", "4.50-5.90"), S("10^12/L", "3.80-5.20")],
       ["Erythrocytes", "RBC", "Red cell count"]),
    _a("hemoglobin", ["Hemoglobin", "Hgb", "HGB", "Hb"],
       [S("g/dL", "11.1-15.9", crit_low=("5.5", "6.8"), crit_high=("20.5", "22.0")),
        S("g/dL", "13.0-17.7", crit_low=("5.5", "6.8"))],
       [S("g/L", "120-160", crit_low=("55", "68")), S("g/dL", "12.0-16.0", crit_low=("5.5", "6.8"))],
       ["Haemoglobin", "Hemoglobin", "Hb"]),
    _a("hematocrit", ["Hematocrit", "Hct", "HCT"],
       [S("%", "34.0-46.6"), S("%", "37.5-51.0")],
       [S("%", "36.0-46.0"), S("%", "40-52")],
       ["Haematocrit", "Hematocrit", "Hct"]),
    _a("mcv", ["MCV", "Mean Corpuscular Volume"],
       [S("fL", "79-97")], [S("fL", "80-100"), S("fL", "83.0-101.0")]),
    _a("mch", ["MCH"], [S("pg", "26.6-33.0")], [S("pg", "27.0-33.0")]),
    _a("mchc", ["MCHC"], [S("g/dL", "31.5-35.7")], [S("g/L", "320-360"), S("g/dL", "31.5-36.0")]),
    _a("rdw", ["RDW", "RDW-CV"], [S("%", "11.7-15.4")], [S("%", "11.5-14.5")]),
    _a("platelets", ["Platelets", "Platelet Count", "PLT"],
       [S("x10E3/uL", "150-450", crit_low=("8", "19"), crit_high=("1010", "1200")),
        S("/uL", "150000-450000", step="1000", crit_low=("8000", "19000"))],
       [S("x10^9/L", "150-400", crit_low=("8", "19")), S("/uL", "150000-400000", step="1000")],
       ["Thrombocytes", "Platelets", "Platelet count"]),
    _a("mpv", ["MPV", "Mean Platelet Volume"], [S("fL", "7.4-10.4")], [S("fL", "7.5-11.5")]),
    _a("neutrophils", ["Neutrophils", "Neut"],
       [S("%", "40-74"), S("%", "40.0-74.0")],
       [S("x10^9/L", "2.0-7.5", crit_low=("0.1", "0.4")), S("%", "40-75")]),
    _a("lymphocytes", ["Lymphocytes", "Lymphs"],
       [S("%", "14-46")], [S("x10^9/L", "1.0-4.0"), S("%", "20-45")]),
    _a("monocytes", ["Monocytes", "Monos"],
       [S("%", "4-12")], [S("x10^9/L", "0.2-0.8"), S("%", "2-10")]),
    _a("eosinophils", ["Eosinophils", "Eos"],
       [S("%", "0-7")], [S("x10^9/L", "0.0-0.5"), S("%", "0-6")]),
    _a("basophils", ["Basophils", "Basos"],
       [S("%", "0-3")], [S("x10^9/L", "0.0-0.1"), S("%", "0-2")]),
    # Iron studies
    _a("iron", ["Iron", "Iron, Serum", "Serum Iron"],
       [S("µmol/L", "9.0-30.4")], [S("µmol/L", "10-30"), S("µmol/L", "5.8-34.5")],
       ["Iron", "Serum iron"]),
    _a("ferritin", ["Ferritin", "Ferritin, Serum"],
       [S("ng/mL", "15-150", far_high=("400", "2400")), S("ng/mL", "30-400", far_high=("900", "2400"))],
       [S("µg/L", "30-400", far_high=("900", "2400")), S("µg/L", "13-150", far_high=("400", "2400"))]),
    _a("tibc", ["TIBC", "Total Iron Binding Capacity", "Iron Binding Capacity"],
       [S("µmol/L", "45-72")], [S("µmol/L", "45-72"), S("µmol/L", "45.0-70.0")],
       ["TIBC", "Total iron binding capacity"]),
    _a("transferrin", ["Transferrin"], [S("mg/dL", "200-360")], [S("g/L", "2.00-3.60")]),
    _a("transferrin_saturation", ["Transferrin Saturation", "Iron Saturation", "TSAT"],
       [S("%", "15-55")], [S("%", "16-45"), S("%", "20-50")],
       ["Transferrin saturation", "TSAT"]),
    # Chemistry
    _a("glucose", ["Glucose", "Glucose, Fasting", "Fasting Glucose"],
       [S("mg/dL", "65-99", crit_low=("30", "45"), crit_high=("450", "620")),
        S("mg/dL", "70-99", crit_low=("30", "45"))],
       [S("mmol/L", "3.9-5.5", crit_low=("1.7", "2.4"), crit_high=("25.0", "33.0")),
        S("mmol/L", "3.9-6.1", crit_low=("1.7", "2.4"))],
       ["Glucose", "Glucose, fasting", "Fasting glucose"]),
    _a("sodium", ["Sodium", "Na", "SODIUM"],
       [S("mmol/L", "134-144", crit_low=("112", "120"), crit_high=("160", "168")),
        S("mmol/L", "136-145", crit_low=("112", "120"))],
       [S("mmol/L", "133-146", crit_low=("112", "120"), crit_high=("160", "168")),
        S("mmol/L", "135-145", crit_low=("112", "120"))],
       ["Sodium", "Na"]),
    _a("potassium", ["Potassium", "K", "POTASSIUM"],
       [S("mmol/L", "3.5-5.2", crit_low=("2.2", "2.8"), crit_high=("6.3", "7.4")),
        S("mmol/L", "3.5-5.1", crit_high=("6.3", "7.4"))],
       [S("mmol/L", "3.5-5.1", crit_low=("2.2", "2.8"), crit_high=("6.3", "7.4")),
        S("mmol/L", "3.5-5.3", crit_high=("6.3", "7.4"))],
       ["Potassium", "K"]),
    _a("chloride", ["Chloride", "Cl"],
       [S("mmol/L", "96-106"), S("mmol/L", "98-107")], [S("mmol/L", "95-108"), S("mmol/L", "98-107")]),
    _a("bicarbonate", ["Carbon Dioxide, Total", "CO2", "Bicarbonate", "HCO3"],
       [S("mmol/L", "20-29"), S("mmol/L", "22-29")], [S("mmol/L", "22-29")],
       ["Bicarbonate", "HCO3", "Total CO2"]),
    _a("bun", ["BUN", "Urea Nitrogen", "Blood Urea Nitrogen"],
       [S("mg/dL", "6-20"), S("mg/dL", "6-24")], [S("mmol/L", "2.1-7.1")],
       ["Urea nitrogen", "BUN"]),
    _a("creatinine", ["Creatinine", "Creatinine, Serum", "Creat"],
       [S("mg/dL", "0.57-1.00"), S("mg/dL", "0.76-1.27")],
       [S("µmol/L", "45-90"), S("µmol/L", "62-106")],
       ["Creatinine", "Creatinine, serum"]),
    _a("egfr", ["eGFR", "Estimated GFR", "GFR, Estimated"],
       [S(EGFR, ">59", qualified=(">60", ">90")), S(EGFR, ">=60", qualified=(">60", ">90")),
        S(EGFR, ">=90", qualified=(">60",))],
       [S(EGFR, ">60", qualified=(">60", ">90")), S(EGFR, ">=90", qualified=(">60",))],
       ["eGFR", "Estimated GFR"]),
    _a("calcium", ["Calcium", "Ca", "Calcium, Serum"],
       [S("mg/dL", "8.7-10.2", crit_low=("5.8", "6.5"), crit_high=("13.1", "14.5"))],
       [S("mmol/L", "2.15-2.55", crit_low=("1.45", "1.60"), crit_high=("3.30", "3.60"))],
       ["Calcium", "Ca"]),
    _a("albumin", ["Albumin", "Albumin, Serum"],
       [S("g/dL", "3.5-5.0"), S("g/dL", "4.0-5.0")], [S("g/L", "35-52")]),
    _a("total_protein", ["Total Protein", "Protein, Total"],
       [S("g/dL", "6.0-8.5")], [S("g/L", "64-83")], ["Total protein", "Protein, total"]),
    _a("globulin", ["Globulin", "Globulin, Total"], [S("g/dL", "1.5-4.5")], [S("g/L", "20-35")]),
    _a("magnesium", ["Magnesium", "Mg"], [S("mg/dL", "1.6-2.3")], [S("mmol/L", "0.70-1.00")]),
    _a("phosphate", ["Phosphorus", "Phosphate", "Phosphorus, Inorganic"],
       [S("mg/dL", "2.5-4.5")], [S("mmol/L", "0.81-1.45")],
       ["Phosphate", "Inorganic phosphate"]),
    _a("alt", ["ALT", "SGPT", "Alanine Aminotransferase"],
       [S("IU/L", "0-44"), S("U/L", "0-32"), S("U/L", "<=40")],
       [S("U/L", "<35"), S("U/L", "<=41"), S("U/L", "10-49")],
       ["ALT", "Alanine aminotransferase"]),
    _a("ast", ["AST", "SGOT", "Aspartate Aminotransferase"],
       [S("IU/L", "0-40"), S("U/L", "10-40")], [S("U/L", "<35"), S("U/L", "<=40")],
       ["AST", "Aspartate aminotransferase"]),
    _a("alp", ["Alkaline Phosphatase", "ALP", "Alk Phos"],
       [S("IU/L", "44-121"), S("U/L", "35-104")], [S("U/L", "30-120")],
       ["Alkaline phosphatase", "ALP"]),
    _a("ggt", ["GGT", "Gamma-Glutamyl Transferase", "GGTP"],
       [S("IU/L", "0-60"), S("U/L", "3-70")], [S("U/L", "<40"), S("U/L", "<=55")],
       ["Gamma-GT", "GGT"]),
    _a("bilirubin_total", ["Bilirubin, Total", "Total Bilirubin", "Bilirubin"],
       [S("mg/dL", "0.0-1.2"), S("mg/dL", "0.2-1.2", qualified=("<0.2", "<0.3"))],
       [S("µmol/L", "<21"), S("µmol/L", "3-21")],
       ["Bilirubin, total", "Total bilirubin", "Bilirubin"]),
    _a("bilirubin_direct", ["Bilirubin, Direct", "Direct Bilirubin", "Conjugated Bilirubin"],
       [S("mg/dL", "0.00-0.40"), S("mg/dL", "<0.3", qualified=("<0.1",))],
       [S("µmol/L", "<5.0", qualified=("<1.0",)), S("µmol/L", "<=5.0")],
       ["Bilirubin, direct", "Direct bilirubin", "Conjugated bilirubin"]),
    # Thyroid
    _a("tsh", ["TSH", "Thyroid Stimulating Hormone", "Thyrotropin"],
       [S("uIU/mL", "0.450-4.500", qualified=("<0.010", "<0.005")),
        S("mIU/L", "0.40-4.50", qualified=("<0.01",))],
       [S("mIU/L", "0.27-4.20", qualified=("<0.01",))],
       ["TSH", "Thyroid stimulating hormone"]),
    _a("free_t4", ["Free T4", "T4, Free", "FT4", "Free Thyroxine"],
       [S("ng/dL", "0.82-1.77")], [S("pmol/L", "12.0-22.0"), S("pmol/L", "10-22")],
       ["Free T4", "FT4", "Free thyroxine"]),
    _a("free_t3", ["Free T3", "T3, Free", "FT3", "Free Triiodothyronine"],
       [S("pmol/L", "3.1-6.8")], [S("pmol/L", "3.1-6.8"), S("pmol/L", "2.8-7.1")],
       ["Free T3", "FT3", "Free triiodothyronine"]),
    # Diabetes
    _a("hba1c", ["Hemoglobin A1c", "HbA1c", "Hgb A1c", "A1c"],
       [S("%", "4.8-5.6"), S("%", "<5.7"), S("%", "<=5.6")],
       [S("mmol/mol", "20-42"), S("mmol/mol", "<42"), S("%", "<=5.6")],
       ["HbA1c", "Haemoglobin A1c", "Glycated haemoglobin"]),
    # Vitamins
    _a("vitamin_d", ["Vitamin D, 25-Hydroxy", "25-OH Vitamin D", "Vitamin D", "25-Hydroxyvitamin D"],
       [S("ng/mL", "30.0-100.0", qualified=("<4.0",)), S("ng/mL", "30-100")],
       [S("nmol/L", "75-250", qualified=("<10",)), S("nmol/L", ">50")],
       ["25-OH Vitamin D", "Vitamin D", "25-Hydroxyvitamin D"]),
    _a("vitamin_b12", ["Vitamin B12", "B12", "Vitamin B-12", "Cobalamin"],
       [S("pmol/L", "145-569", qualified=(">1476",))], [S("pmol/L", "148-590"), S("pmol/L", ">145")],
       ["Vitamin B12", "Cobalamin"]),
    _a("folate", ["Folate", "Folate, Serum", "Folic Acid"],
       [S("ng/mL", ">3.0", qualified=(">20.0",)), S("ng/mL", "3.0-17.0", qualified=(">20.0",))],
       [S("nmol/L", ">7.0", qualified=(">45.0",)), S("nmol/L", "7.0-46.0", qualified=(">45.0",))],
       ["Folate", "Folic acid"]),
    _a("uric_acid", ["Uric Acid", "Urate", "Uric Acid, Serum"],
       [S("mg/dL", "2.5-7.1"), S("mg/dL", "3.4-7.0")], [S("µmol/L", "200-420"), S("µmol/L", "140-360")],
       ["Uric acid", "Urate"]),
    # Inflammation
    _a("crp", ["CRP", "C-Reactive Protein", "C Reactive Protein"],
       [S("mg/dL", "<0.8", far_high=("3.0", "24.0"), qualified=("<0.5", "<0.3")),
        S("mg/dL", "<=0.9", far_high=("3.0", "24.0"), qualified=("<0.5",)),
        S("mg/dL", "0.0-0.9", far_high=("3.0", "24.0"))],
       [S("mg/dL", "<0.5", far_high=("3.0", "24.0"), qualified=("<0.5", "<0.2")),
        S("mg/dL", "<=0.5", far_high=("3.0", "24.0"), qualified=("<0.2",))],
       ["CRP", "C-reactive protein"]),
    _a("esr", ["ESR", "Sed Rate", "Sedimentation Rate", "Erythrocyte Sedimentation Rate"],
       [S("mm/hr", "0-20"), S("mm/hr", "0-30")], [S("mm/hr", "<20"), S("mm/hr", "<=15")],
       ["ESR", "Erythrocyte sedimentation rate"]),
    # Other
    _a("psa", ["PSA", "PSA, Total", "Prostate Specific Ag", "Prostate-Specific Antigen"],
       [S("ng/mL", "0.0-4.0"), S("ng/mL", "<4.0", qualified=("<0.1",))],
       [S("ng/mL", "<4.0", qualified=("<0.1",)), S("µg/L", "<4.0", qualified=("<0.1",))],
       ["PSA", "PSA, total", "Prostate-specific antigen"]),
    _a("inr", ["INR", "PT INR"],
       [S(None, "0.8-1.2", crit_high=("5.1", "7.5")), S(None, "0.9-1.1", crit_high=("5.1", "7.5"))],
       [S(None, "0.8-1.2", crit_high=("5.1", "7.5"))]),
]}

# Panels: (US-style headings, European headings, analytes in print order). Headings never
# contain a digit (a line with a digit that is not a result would be "unread").
PANELS = {
    "lipid": (("LIPID PANEL", "Lipid Panel", "Lipid Profile"), ("Lipids", "Lipid profile"),
              ("total_cholesterol", "triglycerides", "hdl", "ldl", "non_hdl")),
    "cbc": (("CBC WITH DIFFERENTIAL/PLATELET", "Complete Blood Count", "HEMATOLOGY"),
            ("Haematology", "Full blood count", "Blood count"),
            ("wbc", "rbc", "hemoglobin", "hematocrit", "mcv", "mch", "mchc", "rdw", "platelets", "mpv",
             "neutrophils", "lymphocytes", "monocytes", "eosinophils", "basophils")),
    "cmp": (("COMPREHENSIVE METABOLIC PANEL", "Chemistry", "Metabolic Panel"),
            ("Clinical chemistry", "Electrolytes, kidney and liver", "Chemistry"),
            ("glucose", "bun", "creatinine", "egfr", "sodium", "potassium", "chloride", "bicarbonate",
             "calcium", "total_protein", "albumin", "globulin", "bilirubin_total", "bilirubin_direct",
             "alp", "ast", "alt", "ggt")),
    "iron": (("IRON PANEL", "Iron and TIBC", "Anemia Panel"), ("Iron status", "Iron metabolism"),
             ("iron", "tibc", "transferrin", "transferrin_saturation", "ferritin")),
    "thyroid": (("THYROID PANEL", "Thyroid Function"), ("Thyroid", "Thyroid function"),
                ("tsh", "free_t4", "free_t3")),
    "diabetes": (("DIABETES MONITORING", "Glycemic Control"), ("Diabetes", "Glucose metabolism"),
                 ("hba1c", "glucose")),
    "vitamins": (("VITAMINS", "Vitamin Levels"), ("Vitamins",), ("vitamin_d", "vitamin_b12", "folate")),
    "minerals": (("MINERALS AND URIC ACID", "Additional Chemistry"), ("Minerals and metabolites",),
                 ("magnesium", "phosphate", "uric_acid")),
    "inflammation": (("INFLAMMATORY MARKERS", "Inflammation"), ("Inflammation markers",), ("crp", "esr")),
    "other": (("ADDITIONAL TESTS", "Coagulation and PSA"), ("Other tests", "Coagulation"), ("psa", "inr")),
}

# Critical limits: beyond them a lab calls the result in and flags it critical. These are the
# limits murmur's parser also applies (src-tauri/engine/src/records/critical.rs; rounded from
# Kost, JAMA 1990;263:704-707): its `critical` is "a critical flag, or beyond a limit". The set
# never prints a value beyond these without HH/LL, so a flag-only truth (critical_expected) and
# the parser's rule agree on every row. {(canonical, unit): (low, high)}; beyond = strictly.
CRITICAL_LIMITS = {
    ("potassium", "mmol/L"): ("2.8", "6.2"),
    ("sodium", "mmol/L"): ("120", "160"),
    ("glucose", "mg/dL"): ("45", "480"),
    ("glucose", "mmol/L"): ("2.5", "26.6"),
    ("hemoglobin", "g/dL"): ("6.6", "19.9"),
    ("hemoglobin", "g/L"): ("66", "199"),
    ("calcium", "mg/dL"): ("6.0", "13.0"),
    ("calcium", "mmol/L"): ("1.5", "3.25"),
}
