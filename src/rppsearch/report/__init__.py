"""Evidence-and-gap maps and district profiles, computed from the store at query time.

- `matrix`: the dimension × (district | organization | year | doc_type | document) matrix;
- `evidence`: the passages behind one cell, and the best evidence sentences;
- `shifts`: which side of a codebook practice shift an evidence sentence is on;
- `profile`: a district's (or organization's) profile: strengths, best evidence, gaps;
- `render` / `heatmap` / `html` / `pdf`: terminal rows, CSV/JSON, PNG/SVG, HTML, PDF;
- `pages`: the Datasette pages `/-/rpp-map` and `/-/rpp-profile`.

Nothing is cached or materialised: every map and profile reads the tag tables as they are,
so it follows every build and every review. Human decisions win: a passage a person rejected
for a dimension is not evidence for it, one a person accepted is. Only the standard library is
imported here; matplotlib and reportlab load only when a picture or PDF is asked for.
"""
