"""Write the export fixtures of this folder: one synthetic o-terphenyl-like run (4 cooling rates,
40 K/min of them limited to 22 by the instrument, start-up transients) in each format the readers
take.  All are reconstructed, none is an instrument's own file: the TRIOS text layout copies the
shared real exports (../shared/data/trios, kept out of the repository), TRIOS JSON follows TA's
TRIOSJSONExportSchema (tainstruments-triosdataschema on PyPI), NETZSCH follows public Proteus
ASCII exports, Mettler the STARe export as documented.  Run from the repository root:
``.venv/bin/python tests/data/exports/make_fixtures.py``."""
from pathlib import Path

from tnmlib.pipeline.exports.write import all_formats, synthetic_run

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    for name, data in all_formats(synthetic_run(heating_step_K=1.0)).items():
        (HERE / f"synthetic_otp_{name}").write_bytes(data)
        print(f"wrote synthetic_otp_{name}: {len(data):,} bytes")
