"""Writes queries.jsonl from the table below (kept as code so the judgments stay readable).

Each row: id, kind (lexical: shares its key words with the answers; paraphrase: says it in
other words), the question, and graded judgments (2 answers it, 1 on topic or partly) on
documents named `corpus/FILE`, `domain/FILE` or `seeds/FILE`. Written by hand for rppsearch
(not taken from any of the documents). Judgments were completed by pooling twice:
- first round (POOLED below): documents in some mode's top 10 that were not judged when the
  question was written, read and graded; only the positive grades were kept, so a document
  judged 0 then could not be told from one never read;
- second round (pooled.jsonl beside this file, 2026-12): for every question, each document in the
  top 10 of bm25, semantic, hybrid or hybrid with expansion (by document) that had no judgment
  was shown to an assessor by its title, opening words and its two best passages for the
  question, in a shuffled order, without the system or rank that found it, and graded 0, 1 or 2
  with a reason. Every grade is kept there, zeros included, so a later round knows what was read.
  The questions and earlier judgments were not changed; `--first-round-only` writes the judgments
  as they were before this round (queries-first-round.jsonl), for comparison.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

C = "corpus/"
D = "domain/"
S = "seeds/"
TOA = C + "a-theory-of-action-guide.md"
TOA_NOT = C + "b-21-what-a-theory-of-action-is-not.html"
CEDAR = C + "a-cedar-valley-cabinet-stewardship.md"
SUPT = C + "b-22-superintendent-transition.md"
COMMS = C + "a-communicating-transformation-board-community.md"
CASELOADS = C + "b-15-teaching-learning-newsletter-supervisor-caseloads.html"
COACHES = C + "a-supporting-supervisors-own-learning.md"
LAKEMONT = C + "a-lakemont-isd-supervisor-professional-learning.md"
FIVE = C + "a-five-dimensions-overview.md"
SHIFTS = C + "b-14-five-shifts-presentation-notes.md"
HR_CASE = C + "a-north-harbor-hr-case-management.md"
HR_BLOG = C + "a-hr-learning-series-blog.md"
OPS = C + "a-operations-strategic-support.md"
BUS = C + "a-bus-driver-shortage-news.md"
EVID = C + "a-evidence-use-learning-from-experience.md"
KESTREL = C + "a-kestrel-bay-inquiry-cycles-dashboards.md"
PERF = C + "a-performance-management-vs-learning-accountability.md"
DATA = C + "b-30-data-office-redesign.md"
SURVEY = C + "b-20-principal-feedback-survey-service-quality.docx"
MENU = C + "b-19-curriculum-instruction-service-menu.md"
ILD = C + "a-ild-learning-partnerships-practice-guide.md"
WEEK = C + "a-week-in-the-life-riverbend-supervisor.md"
QA = C + "b-16-qa-principal-supervisor.md"
PLC = C + "a-principal-learning-communities-facilitation-guide.md"
PIPELINE = C + "a-principal-pipeline-board-memo.md"
PSI = C + "a-principal-supervisor-initiative-brief.md"
CGCS = C + "a-cgcs-rethinking-principal-supervisor-role.md"
DAW = C + "a-districts-at-work-reenvisioning-school-support.html"
DALLAS = C + "b-01-dallas-isd-reenvisioning-school-support.html"
FIRSTLINE = C + "b-02-firstline-professional-learning.md"
FRESNO = C + "b-03-fresno-unified-time-for-learning.docx"
HIGHLINE = C + "b-04-highline-strategic-alignment.md"
KIPP = C + "b-05-kipp-bay-area-budget-uncertainty.md"
SANDIEGO = C + "b-06-san-diego-paths-to-graduation.html"
SEZ = C + "b-07-springfield-empowerment-zone.md"
TULSA = C + "b-08-tulsa-job-embedded-professional-learning.pdf"
CSLA_OV = C + "b-09-21csla-overview.html"
ECCI = C + "b-10-equity-centered-continuous-improvement-site-leaders.md"
LABS = C + "b-11-dl2-highline-learning-labs.pdf"
TEN = C + "b-12-central-office-ten.md"
TEN_BLOG = C + "a-central-office-ten-equity-network-blog.html"
PINE = C + "b-13-pine-ridge-board-resolution.docx"
LITREV = C + "b-17-principal-supervision-literature-review.pdf"
STATE = C + "b-18-state-policy-brief-central-offices.pdf"
RPP = C + "b-23-research-practice-partnerships-brief.md"
WALK = C + "b-24-walkthrough-data-supervisor-conversations.html"
EQUITY = C + "b-29-equity-central-office-transformation-brief.docx"
HL_NEWS = C + "a-highline-leaders-at-the-center-news.html"
CSLA_COACH = C + "a-21csla-coaching-communities-of-practice.html"
STUDY = C + "a-central-office-transformation-study-2010-summary.md"
BUDGETING = C + "a-school-based-budgeting-finance-support-brief.md"
RIVERBEND = C + "a-riverbend-reorganizes-school-support-teams.html"
LAB = C + "a-science-lab-safety-tips.md"
FRACTIONS = C + "a-fourth-grade-fractions-lesson-blog.html"

TIPS, CH1, CH2, CH3, CH4, CH5, CH6, CH7 = (
    D + "01_wallace_cot_report_implementation_tips.txt",
    D + "02_wallace_cot_chapter1_introduction.txt",
    D + "03_wallace_cot_chapter2_learning_focused_partnerships.txt",
    D + "04_wallace_cot_chapter3_assistance_to_ilds.txt",
    D + "05_wallace_cot_chapter4_reorganizing_reculturing.txt",
    D + "06_wallace_cot_chapter5_stewardship_theory_of_action.txt",
    D + "07_wallace_cot_chapter6_evidence_use.txt",
    D + "08_wallace_cot_chapter7_conclusion.txt",
)
FC_SUM = D + "09_foundationcenter_cot_report_summary.txt"
FRONT = D + "10_studylib_cot_report_front_matter.txt"
TCR = D + "11_tcrecord_honig_lorton_copland_2009_abstract.txt"
DL2_OV = D + "12_dl2_central_office_transformation_overview.txt"
DL2_OLD = D + "13_dl2_cot_resources_page_2016ish.txt"
DL2_PS = D + "14_dl2_principal_supervision.txt"
DL2_PSR = D + "15_dl2_principal_supervisors_resources.txt"
KAPPAN = D + "16_kappan_honig_rainey_2020_teaching_learning_principal_supervision.txt"
DL2_HR = D + "17_dl2_human_resources.txt"
DL2_OPS = D + "18_dl2_operations.txt"
DL2_HOME = D + "19_dl2_home_mission.txt"
DL2_TEN = D + "20_dl2_partnerships_central_office_ten.txt"
AEI = D + "21_coursehero_honig_aei_2013_tinkering_to_transformation_excerpt.txt"
ERS_TK = D + "22_ers_districts_at_work_toolkit.txt"
ERS_ES = D + "23_ers_districts_at_work_executive_summary.txt"
ERS_SEZ = D + "24_ers_districts_at_work_springfield_empowerment_zone.txt"
CGCS_ES = D + "25_cgcs_rethinking_leadership_executive_summary.txt"
CGCS_OV = D + "26_cgcs_rethinking_leadership_study_overview.txt"
WAL_RL = D + "27_wallace_rethinking_leadership_report_page.txt"
CSLA_ABOUT = D + "28_21csla_about_platform.txt"
LPI = D + "29_lpi_developing_educational_leaders_california_21csla.txt"
CCEE = D + "30_ccee_21csla_evaluation_findings.txt"
SEED_TEN = S + "000_02f59972a68cbb24.txt"
SEED_RUBRICS = S + "001_f05532994282acbd.txt"
SEED_ERS = S + "002_aca942b10dda1ca5.txt"
SEED_CSLA = S + "003_8f06f4494a5f58d5.txt"
SEED_LABS = S + "004_0eaf74aa0d38b2a7.txt"

L, P = "lexical", "paraphrase"
QUERIES = [
    (L, "theory of action for central office transformation",
     {TOA: 2, TOA_NOT: 2, CH5: 2, CEDAR: 1, SUPT: 1, COMMS: 1}),
    (P, "how can a school system keep its reform going after the top leader departs",
     {SUPT: 2, CEDAR: 1}),
    (L, "principal supervisor caseloads",
     {CASELOADS: 2, COACHES: 1, CGCS: 1, CGCS_ES: 1}),
    (P, "who teaches the people whose job is to coach school leaders?",
     {COACHES: 2, LAKEMONT: 2, CH3: 2, FIVE: 1, SHIFTS: 1}),
    (L, "human resources case management for principals",
     {HR_CASE: 2, DL2_HR: 1, HR_BLOG: 1, OPS: 1}),
    (P, "cutting hiring paperwork so personnel staff can help schools fill classrooms with strong, diverse teachers",
     {DL2_HR: 2, HR_CASE: 2, HR_BLOG: 1}),
    (L, "bus driver shortage",
     {BUS: 2, OPS: 1}),
    (L, "operations as a strategic support for instruction",
     {OPS: 2, DL2_OPS: 2}),
    (P, "can the people who run kitchens, buildings and school buses help improve teaching?",
     {DL2_OPS: 2, OPS: 2}),
    (L, "evidence use: how the central office learns from experience",
     {EVID: 2, CH6: 2, KESTREL: 1, PERF: 1, DATA: 1, SHIFTS: 1}),
    (P, "besides checking test results, how do district departments find out whether their own help is working?",
     {EVID: 2, KESTREL: 2, CH6: 2, SURVEY: 2, PERF: 1, MENU: 1}),
    (L, "principal feedback survey on central office services",
     {SURVEY: 2, MENU: 1, KESTREL: 1}),
    (L, "inquiry cycles and a dashboard of support indicators",
     {KESTREL: 2, ECCI: 1}),
    (L, "learning-focused partnerships with principals",
     {CH2: 2, ILD: 2, FIVE: 1, WEEK: 1, QA: 1, STUDY: 1}),
    (P, "what does the person who oversees several school heads actually do during a typical week?",
     {WEEK: 2, QA: 2, DL2_PSR: 1, DL2_PS: 1}),
    (L, "modeling, brokering and differentiating support for principals",
     {ILD: 2, CH2: 2, WEEK: 1, DL2_PS: 1}),
    (L, "facilitating principal learning communities: protocols",
     {PLC: 2, WEEK: 1}),
    (P, "getting groups of school heads to learn from one another instead of sitting through announcements",
     {PLC: 2, WEEK: 1, CH2: 1}),
    (L, "the Principal Pipeline Initiative",
     {PIPELINE: 2, CGCS_ES: 1, WAL_RL: 1, CGCS_OV: 1, PSI: 1}),
    (L, "the Wallace Foundation's Principal Supervisor Initiative",
     {PSI: 2, WAL_RL: 1, CGCS: 1}),
    (L, "Council of the Great City Schools survey of principal supervisors",
     {CGCS_ES: 2, CGCS_OV: 2, WAL_RL: 2, CGCS: 2}),
    (P, "national research on how big-city systems pick, back and judge the officials overseeing school heads",
     {CGCS_ES: 2, CGCS_OV: 2, WAL_RL: 2, CGCS: 1}),
    (L, "Districts at Work: eight school systems",
     {ERS_TK: 2, ERS_ES: 2, DAW: 2, SEED_ERS: 2, ERS_SEZ: 1, FIRSTLINE: 1, HIGHLINE: 1, KIPP: 1, SEZ: 1}),
    (L, "Springfield Empowerment Zone Partnership turnaround autonomy",
     {SEZ: 2, ERS_SEZ: 2, ERS_TK: 1, DAW: 1}),
    (P, "freedom over school design in exchange for answering for results in struggling middle schools",
     {SEZ: 2, ERS_SEZ: 2}),
    (L, "KIPP Bay Area budget uncertainty",
     {KIPP: 2}),
    (P, "how a charter network helps school leaders plan staffing when next year's money is unknown",
     {KIPP: 2, BUDGETING: 1}),
    (L, "school-based budgeting and the central office finance unit",
     {BUDGETING: 2, KIPP: 1}),
    (L, "research-practice partnership",
     {RPP: 2, HL_NEWS: 2, LABS: 2, SEED_LABS: 1}),
    (P, "long-term collaboration in which university scholars and a district study and improve its work together",
     {RPP: 2, HL_NEWS: 2, LABS: 1}),
    (L, "learning labs with Highline Public Schools",
     {LABS: 2, SEED_LABS: 2, HL_NEWS: 1, HIGHLINE: 1}),
    (L, "Central Office Transformation for Equity Network",
     {TEN: 2, DL2_TEN: 2, SEED_TEN: 2, TEN_BLOG: 2, DL2_OV: 1}),
    (P, "cabinet leaders from several school systems meeting to make headquarters work anti-racist",
     {TEN: 2, DL2_TEN: 2, SEED_TEN: 2, TEN_BLOG: 2, EQUITY: 1, DL2_HOME: 1}),
    (L, "21CSLA California school leadership academy",
     {CSLA_ABOUT: 2, LPI: 2, CCEE: 2, CSLA_OV: 2, SEED_CSLA: 2, CSLA_COACH: 2, ECCI: 1}),
    (P, "how many leaders took part in the state-funded leadership program, and did their practice change?",
     {CCEE: 2, LPI: 1, CSLA_OV: 1}),
    (L, "equity-centered continuous improvement: a problem of practice",
     {ECCI: 2, SEED_CSLA: 1, CSLA_COACH: 1}),
    (L, "reorganizing and reculturing central office units",
     {CH4: 2, FIVE: 1, RIVERBEND: 1, PINE: 1, HR_CASE: 1, PERF: 1}),
    (P, "changing departmental habits, not just the org chart, so offices serve schools rather than process requests",
     {CH4: 2, HR_CASE: 2, MENU: 2, PINE: 1, SHIFTS: 1, RIVERBEND: 1}),
    (L, "board resolution to reorganize central office services",
     {PINE: 2}),
    (L, "curriculum office menu of services",
     {MENU: 2}),
    (P, "making student information tools that school leaders actually find helpful",
     {DATA: 2, KESTREL: 1}),
    (L, "communicating central office transformation to the school board and community",
     {COMMS: 2, CEDAR: 1, SUPT: 1}),
    (P, "explaining to voters and trustees a reform that mostly changes how administrators spend their days",
     {COMMS: 2, SUPT: 1}),
    (L, "performance management stat meetings and accountability",
     {PERF: 2, EVID: 1}),
    (L, "the five dimensions of central office transformation",
     {FIVE: 2, SHIFTS: 2, SEED_RUBRICS: 2, CH1: 1, FC_SUM: 1, STUDY: 1, CH7: 1}),
    (L, "Honig's rubrics presented at a grantee conference",
     {SEED_RUBRICS: 2}),
    (L, "the 2010 study of Atlanta, New York City and Oakland",
     {STUDY: 2, FRONT: 2, FC_SUM: 2, CH1: 1, TCR: 1, LITREV: 1}),
    (L, "principal supervision literature review",
     {LITREV: 2, KAPPAN: 1}),
    (L, "state policy for district central offices",
     {STATE: 2}),
    (P, "what should governors and state education agencies do to help district headquarters back their schools?",
     {STATE: 2}),
    (L, "Tulsa job-embedded professional learning",
     {TULSA: 2, ERS_TK: 1}),
    (P, "a district where teacher training happens during the school day, tied to the curriculum and to colleagues' feedback",
     {TULSA: 2, FIRSTLINE: 1, FRESNO: 1}),
    (L, "Fresno Unified time for differentiated instruction and teacher learning",
     {FRESNO: 2}),
    (L, "Dallas ISD support for struggling schools",
     {DALLAS: 2, SEED_ERS: 1, ERS_TK: 1}),
    (L, "San Diego paths to graduation and rigorous coursework",
     {SANDIEGO: 2, SEED_ERS: 1, ERS_ES: 1}),
    (L, "lab safety: eyewash station and goggles",
     {LAB: 2}),
    (P, "teaching nine-year-olds that two quarters make one half",
     {FRACTIONS: 2}),
    (L, "walkthrough and observation data in supervisor conversations",
     {WALK: 2, KAPPAN: 1}),
    (P, "supervisors using what they saw in classrooms to talk with school heads about teaching",
     {WALK: 2, WEEK: 1}),
    (P, "why overseers of school heads must turn toward equity after the pandemic and racial justice protests",
     {KAPPAN: 2}),
]

# Pooled judgments: documents found in some mode's top 10 that were not judged when the
# question was written, read and graded (all 1: on topic or partly answering).
POOLED = {
    1: [B29 := C + "b-29-equity-central-office-transformation-brief.docx", TIPS, SHIFTS, FIVE, STUDY, PINE],
    3: [PSI, WAL_RL, LITREV, CGCS_OV],
    4: [ILD, QA, CSLA_COACH, DL2_PS, DL2_PSR, CGCS, LITREV],
    5: [WEEK],
    8: [FIVE, SHIFTS, DL2_HR],
    9: [PERF, KESTREL, FIVE],
    10: [STUDY, FIVE, SURVEY],
    11: [DATA],
    12: [EVID],
    13: [EVID, PERF, MENU],
    14: [PLC, DL2_PS, PSI, SEED_RUBRICS],
    15: [COACHES, CASELOADS, KAPPAN, CGCS],
    16: [DL2_PSR, LAKEMONT, KAPPAN, LITREV],
    17: [ILD, CSLA_COACH, LAKEMONT],
    18: [QA],
    19: [LITREV],
    20: [PIPELINE, CGCS_ES, CGCS_OV, LITREV],
    21: [PSI, LITREV],
    22: [LITREV],
    23: [DALLAS, TULSA],
    24: [SEED_ERS],
    25: [ERS_TK, ERS_ES],
    28: [HIGHLINE],
    31: [RPP],
    32: [B29, DL2_HOME, SEED_LABS],
    33: [SEED_LABS],
    35: [CSLA_ABOUT, CSLA_COACH],
    36: [CSLA_OV, CSLA_ABOUT, LPI, CCEE],
    37: [MENU, OPS, STUDY, DL2_OLD],
    38: [OPS, FIVE, PERF, DATA, SURVEY],
    39: [RIVERBEND],
    40: [SURVEY],
    42: [TOA, CH5],
    43: [CEDAR],
    44: [KESTREL, AEI],
    45: [CEDAR, EVID, TOA, DL2_OLD, DL2_OV],
    47: [CH2, CH3, CH4, CH5, CH6, CH7, TIPS],
    48: [DL2_PS, DL2_PSR, CGCS, CGCS_ES],
    51: [FIRSTLINE, FRESNO],
    54: [DAW, ERS_ES],
    55: [ERS_TK, DAW],
    58: [QA, WEEK, ILD],
    59: [QA, ILD, DL2_PSR],
}


def second_round() -> dict[str, dict[str, int]]:
    """The second pooling round's grades: {question id: {document: grade}} (zeros included)."""
    path = Path(__file__).with_name("pooled.jsonl")
    rounds: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        if line.strip():
            row = json.loads(line)
            rounds.setdefault(row["id"], {})[row["doc"]] = int(row["grade"])
    return rounds


def main() -> None:
    first_only = "--first-round-only" in sys.argv[1:]
    out = Path(__file__).with_name("queries-first-round.jsonl" if first_only else "queries.jsonl")
    pooled = {} if first_only else second_round()
    lines = []
    for n, (kind, text, judgments) in enumerate(QUERIES, start=1):
        judgments = {**{key: 1 for key in POOLED.get(n, [])}, **judgments}
        extra = pooled.get(f"q{n:02d}", {})
        judgments.update({doc: grade for doc, grade in extra.items() if grade > 0 and doc not in judgments})
        lines.append(json.dumps({"id": f"q{n:02d}", "kind": kind, "query": text, "judgments": judgments}))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(QUERIES)} queries, {sum(k == P for k, *_ in QUERIES)} paraphrases -> {out}")


if __name__ == "__main__":
    main()
