"""The grounding check's support threshold, on labelled sentences about examples/docs.

Each sentence is an answer sentence a model might write to the demo question's passages: true
paraphrases of a passage sentence ("sup"), and on-topic claims the passages don't make ("bad"),
the kind small models produce. Prints each sentence's support score, its verdict at the current
`SUPPORT_THRESHOLD`, and the best threshold on this set. Hard facts (numbers, codes, names) are
left out of the "bad" sentences on purpose: this measures the semantic part alone.

    localgpt --data-dir /tmp/k7 ingest examples/docs
    python bench/grounding_calibration.py --data-dir /tmp/k7
"""

from __future__ import annotations

import argparse
from pathlib import Path

from localgpt.rag.answer import RAG
from localgpt.rag.grounding import SUPPORT_THRESHOLD, Grounder
from localgpt.rag.resources import Resources
from localgpt.settings.config import Settings

QUESTION = "How much water does the Aurora K7 water tank hold?"
LABELLED = [
    (True, "The tank takes 1.8 litres."),
    (True, "You can fill the tank with 1.8 litres of water."),
    (True, "Descaling should be done every six weeks using citric acid."),
    (True, "The espresso machine weighs 6.3 kg."),
    (True, "Sparkling water or milk must not be used."),
    (True, "Error E17 indicates the pump has overheated."),
    (True, "Standby begins after 25 minutes without use."),
    (True, "The brewing temperature is 93 degrees by default."),
    (False, "The machine does not have a capacity for more than one liter of water."),
    (False, "The Aurora K7 was designed in Italy."),
    (False, "You should descale it often."),
    (False, "The water tank is made of glass and is dishwasher safe."),
    (False, "The machine comes with a milk frother."),
    (False, "Always use vinegar to descale the machine."),
    (False, "The warranty covers accidental damage."),
    (False, "The pump is very quiet."),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="an index of examples/docs")
    args = parser.parse_args()
    res = Resources(Settings(paths={"data_dir": str(args.data_dir)}))
    sources = RAG(res).retrieve(QUESTION)
    grounder = Grounder([(s.n, s.text) for s in sources], res.embedder.encode, QUESTION, threshold=0.0)
    scored = [(label, grounder.check(text)[0].score, text) for label, text in LABELLED]
    for label, score, text in scored:
        verdict = "supported" if score >= SUPPORT_THRESHOLD else "unsupported"
        print(f"{'sup' if label else 'bad'}  {score:.2f}  {verdict:<11}  {text}")
    candidates = sorted({round(s, 2) for _, s, _ in scored})
    best = max(candidates, key=lambda t: sum((s >= t) == label for label, s, _ in scored))
    right = sum((s >= SUPPORT_THRESHOLD) == label for label, s, _ in scored)
    print(f"threshold {SUPPORT_THRESHOLD}: {right}/{len(scored)} right; best on this set: {best}")


if __name__ == "__main__":
    main()
