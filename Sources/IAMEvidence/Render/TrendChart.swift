import XMLTree

/// The report's trend: failing results per check in each snapshot of the period, as an inline SVG
/// line chart built with XMLTree (one polyline and its points per check), a legend, and the same
/// numbers as a table for readers who cannot see the chart.
///
/// Built with the shared XHTML helpers (``XHTML``). Coordinates are computed from the data alone
/// and written with one decimal by integer arithmetic (no locale, no floating-point formatting), so
/// the same history gives the same bytes.
enum TrendChart {
  // Geometry of the drawing, in SVG user units.
  static let width = 760.0
  static let height = 300.0
  static let left = 56.0
  static let right = 24.0
  static let top = 18.0
  static let bottom = 62.0
  /// Horizontal inset of the first and last snapshot from the axes.
  static let inset = 28.0

  /// One drawing style per series: colour (Okabe–Ito, readable for colour-blind readers), dash
  /// pattern and marker shape, so series differ by more than colour.
  struct SeriesStyle {
    var colour: String
    var dash: String?
    var marker: Marker
  }

  enum Marker { case circle, square, triangle, diamond, triangleDown }

  static let styles: [SeriesStyle] = [
    SeriesStyle(colour: "#c0392b", dash: nil, marker: .circle),
    SeriesStyle(colour: "#0072b2", dash: "7 4", marker: .square),
    SeriesStyle(colour: "#009e73", dash: "2 3", marker: .triangle),
    SeriesStyle(colour: "#cc79a7", dash: "9 3 2 3", marker: .diamond),
    SeriesStyle(colour: "#b26b00", dash: "4 4", marker: .triangleDown),
    SeriesStyle(colour: "#56b4e9", dash: "1 2", marker: .circle),
    SeriesStyle(colour: "#444444", dash: "12 4", marker: .square),
    SeriesStyle(colour: "#00696b", dash: "6 2 1 2", marker: .circle),
    SeriesStyle(colour: "#7b3fa0", dash: "2 2 8 2", marker: .diamond),
    SeriesStyle(colour: "#e69f00", dash: "3 3 9 3", marker: .triangle),
    SeriesStyle(colour: "#d55e00", dash: "10 2 2 2 2 2", marker: .square),
    SeriesStyle(colour: "#1b7837", dash: "1 3", marker: .diamond),
    SeriesStyle(colour: "#2f4b7c", dash: "8 3 3 3", marker: .triangleDown),
    SeriesStyle(colour: "#8c510a", dash: "5 2", marker: .triangle),
  ]

  static func style(_ index: Int) -> SeriesStyle { styles[index % styles.count] }

  /// One snapshot on the x axis.
  struct Column: Hashable {
    var snapshotID: Int
    var capturedAt: Timestamp
  }

  /// The series of the privileged-access register: the number of privileged identities per snapshot.
  /// Its id is no check id (check ids have no spaces); it is drawn in black, solid and thicker, so it
  /// stands apart from the checks' failure lines.
  static let privilegedSeries = "privileged identities"
  static let privilegedStyle = SeriesStyle(colour: "#222222", dash: nil, marker: .diamond)

  /// Appends the chart (a `<figure>` with the SVG and the legend) and the data table to `parent`:
  /// failing results per check and, when `privileged` is given, privileged identities per snapshot.
  static func render(
    into parent: XMLElement, history: [HistoryRow], checks: [CheckDescription], privileged: [PrivilegedCount] = []
  ) {
    var seen = Set<Int>()
    var columns: [Column] = []
    for row in history where seen.insert(row.snapshotID).inserted {
      columns.append(Column(snapshotID: row.snapshotID, capturedAt: row.capturedAt))
    }
    for c in privileged where seen.insert(c.snapshotID).inserted {
      columns.append(Column(snapshotID: c.snapshotID, capturedAt: c.capturedAt))
    }
    columns.sort { ($0.capturedAt, $0.snapshotID) < ($1.capturedAt, $1.snapshotID) }
    // Series: the catalog's checks in order, then any other check id in the history (sorted).
    var seriesIDs = checks.map(\.id)
    seriesIDs += Set(history.map(\.checkID)).subtracting(seriesIDs).sorted()
    let titles = Dictionary(checks.map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })

    /// `values[check][column]`: the fail count, nil when the snapshot was not assessed.
    var values: [String: [Int?]] = [:]
    for id in seriesIDs { values[id] = Array(repeating: nil, count: columns.count) }
    let columnIndex = Dictionary(columns.enumerated().map { ($1.snapshotID, $0) }, uniquingKeysWith: { a, _ in a })
    for row in history where row.assessed {
      if let i = columnIndex[row.snapshotID] { values[row.checkID]?[i] = row.counts.fail }
    }
    if !privileged.isEmpty {
      var line = [Int?](repeating: nil, count: columns.count)
      for c in privileged where c.assessed { if let i = columnIndex[c.snapshotID] { line[i] = c.count } }
      seriesIDs.append(privilegedSeries)
      values[privilegedSeries] = line
    }

    if columns.isEmpty {
      parent.add("p", "No snapshots in the period.", class: "empty")
      return
    }

    let figure = parent.add("figure", class: "trend-figure")
    drawChart(into: figure, columns: columns, seriesIDs: seriesIDs, values: values)
    var legendTitles = titles
    legendTitles[privilegedSeries] = "Users and roles in the privileged access register"
    legend(into: figure, seriesIDs: seriesIDs, titles: legendTitles)
    figure.add(
      "figcaption",
      "Failing results per check"
        + (privileged.isEmpty ? "" : ", and privileged identities (black line),")
        + " per snapshot, \(columns.first!.capturedAt.dateString) to \(columns.last!.capturedAt.dateString). "
        + "Lines that coincide have the same counts; the table below gives the exact numbers.")
    table(into: parent, columns: columns, seriesIDs: seriesIDs, values: values)
  }

  // MARK: Chart

  static func drawChart(into figure: XMLElement, columns: [Column], seriesIDs: [String], values: [String: [Int?]]) {
    let plotWidth = width - left - right
    let plotHeight = height - top - bottom
    let maxValue = values.values.flatMap { $0.compactMap { $0 } }.max() ?? 0
    let (step, yMax) = yScale(maxValue)

    func x(_ i: Int) -> Double {
      columns.count == 1 ? left + plotWidth / 2 : left + inset + (plotWidth - 2 * inset) * Double(i) / Double(columns.count - 1)
    }
    func y(_ v: Int) -> Double { top + plotHeight - plotHeight * Double(v) / Double(yMax) }

    let svg = figure.add("svg", namespace: .uri(XMLNamespaces.svg, prefix: nil))
    svg.set("class", "trend-chart")
    svg.set("viewBox", "0 0 \(fixed(width)) \(fixed(height))")
    svg.set("width", fixed(width))
    svg.set("height", fixed(height))
    svg.set("role", "img")
    svg.set("aria-labelledby", "trend-title trend-desc")
    let withRegister = seriesIDs.contains(privilegedSeries)
    svg.add("title", "Failing results per check" + (withRegister ? " and privileged identities" : "") + " per snapshot").set(
      "id", "trend-title")
    svg.add(
      "desc",
      "Line chart: x axis the \(columns.count) snapshots of the period by capture date, y axis the number of failing results"
        + (withRegister ? " and of privileged identities" : "") + "; one line per check"
        + (withRegister ? ", and one (black) for the privileged identities in the register." : ".")
    ).set("id", "trend-desc")

    // Plot background, grid and y ticks.
    let frame = svg.add("rect", class: "plot-area")
    frame.attrs(["x": fixed(left), "y": fixed(top), "width": fixed(plotWidth), "height": fixed(plotHeight)])
    let grid = svg.add("g", class: "grid")
    let ticks = svg.add("g", class: "y-ticks")
    var value = 0
    while value <= yMax {
      let yy = fixed(y(value))
      grid.add("line").attrs(["x1": fixed(left), "y1": yy, "x2": fixed(left + plotWidth), "y2": yy])
      ticks.add("text", String(value)).attrs(["x": fixed(left - 8), "y": fixed(y(value) + 4), "text-anchor": "end"])
      value += step
    }

    // Axes.
    let axes = svg.add("g", class: "axes")
    axes.add("line").attrs(["x1": fixed(left), "y1": fixed(top), "x2": fixed(left), "y2": fixed(top + plotHeight)])
    axes.add("line").attrs(["x1": fixed(left), "y1": fixed(top + plotHeight), "x2": fixed(left + plotWidth), "y2": fixed(top + plotHeight)])

    // X labels: the capture dates (rotated when there are many snapshots).
    let xLabels = svg.add("g", class: "x-ticks")
    let rotate = columns.count > 6
    for (i, column) in columns.enumerated() {
      let xx = x(i)
      xLabels.add("line").attrs(["x1": fixed(xx), "y1": fixed(top + plotHeight), "x2": fixed(xx), "y2": fixed(top + plotHeight + 5)])
      let label = xLabels.add("text", column.capturedAt.dateString)
      let ly = top + plotHeight + 19
      label.attrs(["x": fixed(xx), "y": fixed(ly), "text-anchor": rotate ? "end" : "middle"])
      if rotate { label.set("transform", "rotate(-30 \(fixed(xx)) \(fixed(ly)))") }
    }

    // Axis titles.
    let yTitle = svg.add("text", withRegister ? "Count" : "Failing results", class: "axis-title")
    yTitle.attrs([
      "x": fixed(14), "y": fixed(top + plotHeight / 2), "text-anchor": "middle",
      "transform": "rotate(-90 \(fixed(14)) \(fixed(top + plotHeight / 2)))",
    ])
    if !rotate {
      svg.add("text", "Snapshot (capture date, UTC)", class: "axis-title")
        .attrs(["x": fixed(left + plotWidth / 2), "y": fixed(height - 10), "text-anchor": "middle"])
    }

    // One series per check: a polyline through the assessed snapshots and a marker at each. The
    // register's line is drawn first, beneath the checks' lines, so that a check line with the same
    // counts (such as an identity check's) stays visible on top of it.
    let drawingOrder =
      seriesIDs.enumerated().filter { $0.element == privilegedSeries }
      + seriesIDs.enumerated().filter {
        $0.element != privilegedSeries
      }
    for (index, id) in drawingOrder {
      let s = id == privilegedSeries ? privilegedStyle : style(index)
      let group = svg.add("g", class: "series")
      if id == privilegedSeries { group.set("data-series", "privileged-identities") } else { group.set("data-check", id) }
      var points: [String] = []
      for (i, v) in (values[id] ?? []).enumerated() {
        guard let v else { continue }
        points.append(fixed(x(i)) + "," + fixed(y(v)))
      }
      let line = group.add("polyline")
      line.attrs([
        "points": points.joined(separator: " "), "fill": "none", "stroke": s.colour, "stroke-width": id == privilegedSeries ? "3.5" : "2.5",
      ])
      if let dash = s.dash { line.set("stroke-dasharray", dash) }
      for (i, v) in (values[id] ?? []).enumerated() {
        guard let v else { continue }
        let mark = marker(s.marker, x: x(i), y: y(v), size: 5, into: group)
        mark.attrs(["fill": s.colour, "stroke": "#ffffff", "stroke-width": "1"])
        mark.add(
          "title",
          "\(id), \(columns[i].capturedAt.dateString) (snapshot \(columns[i].snapshotID)): \(v)\(id == privilegedSeries ? "" : " failing")")
      }
    }
  }

  /// A tick step and the axis maximum (a multiple of the step, at least 1) for values up to `max`.
  static func yScale(_ max: Int) -> (step: Int, top: Int) {
    guard max > 0 else { return (1, 1) }
    var step = 1
    let candidates = [1, 2, 5]
    var magnitude = 1
    search: while true {
      for c in candidates {
        step = c * magnitude
        if (max + step - 1) / step <= 6 { break search }
      }
      magnitude *= 10
    }
    return (step, ((max + step - 1) / step) * step)
  }

  /// Draws a marker shape centred at (x, y) and returns it.
  @discardableResult
  static func marker(_ shape: Marker, x: Double, y: Double, size r: Double, into parent: XMLElement) -> XMLElement {
    switch shape {
    case .circle:
      return parent.add("circle").attrs(["cx": fixed(x), "cy": fixed(y), "r": fixed(r)])
    case .square:
      let side = r * 1.7
      return parent.add("rect").attrs(["x": fixed(x - side / 2), "y": fixed(y - side / 2), "width": fixed(side), "height": fixed(side)])
    case .triangle:
      return parent.add("polygon").attrs(["points": polygon([(x, y - r * 1.2), (x + r * 1.1, y + r * 0.8), (x - r * 1.1, y + r * 0.8)])])
    case .diamond:
      return parent.add("polygon").attrs(["points": polygon([(x, y - r * 1.3), (x + r * 1.1, y), (x, y + r * 1.3), (x - r * 1.1, y)])])
    case .triangleDown:
      return parent.add("polygon").attrs(["points": polygon([(x - r * 1.1, y - r * 0.8), (x + r * 1.1, y - r * 0.8), (x, y + r * 1.2)])])
    }
  }

  static func polygon(_ points: [(Double, Double)]) -> String {
    points.map { fixed($0.0) + "," + fixed($0.1) }.joined(separator: " ")
  }

  // MARK: Legend and table

  static func legend(into figure: XMLElement, seriesIDs: [String], titles: [String: String]) {
    let ul = figure.add("ul", class: "legend")
    for (index, id) in seriesIDs.enumerated() {
      let s = id == privilegedSeries ? privilegedStyle : style(index)
      let li = ul.add("li")
      let swatch = li.add("svg", namespace: .uri(XMLNamespaces.svg, prefix: nil))
      swatch.attrs(["class": "swatch", "viewBox": "0 0 40 14", "width": "40", "height": "14", "aria-hidden": "true"])
      let line = swatch.add("line").attrs(["x1": "2", "y1": "7", "x2": "38", "y2": "7", "stroke": s.colour, "stroke-width": "2.5"])
      if let dash = s.dash { line.set("stroke-dasharray", dash) }
      marker(s.marker, x: 20, y: 7, size: 4.5, into: swatch).attrs(["fill": s.colour, "stroke": "#ffffff", "stroke-width": "1"])
      li.add("code", id)
      if let title = titles[id] { li.add("span", title, class: "legend-title") }
    }
  }

  static func table(into parent: XMLElement, columns: [Column], seriesIDs: [String], values: [String: [Int?]]) {
    let table = parent.add("table", class: "data trend-table")
    table.add(
      "caption",
      "Failing results" + (seriesIDs.contains(privilegedSeries) ? " and privileged identities" : "") + " per snapshot (the chart's data)")
    let head = table.add("thead").add("tr")
    head.add("th", "Snapshot").set("scope", "col")
    head.add("th", "Captured").set("scope", "col")
    for id in seriesIDs {
      let th = head.add("th", class: "num")
      th.set("scope", "col")
      th.add("code", id)
    }
    let body = table.add("tbody")
    for (i, column) in columns.enumerated() {
      let tr = body.add("tr")
      tr.add("th", String(column.snapshotID)).set("scope", "row")
      tr.add("td", column.capturedAt.dateString)
      for id in seriesIDs {
        if let v = values[id]?[i] ?? nil {
          tr.add("td", String(v), class: v > 0 && id != privilegedSeries ? "num nonzero-fail" : "num")
        } else {
          tr.add("td", "not assessed", class: "num muted")
        }
      }
    }
  }

  // MARK: Numbers

  /// `v` with exactly one decimal, rounded half away from zero, by integer arithmetic (no locale).
  static func fixed(_ v: Double) -> String {
    let scaled = Int((v * 10).rounded())
    let magnitude = scaled.magnitude
    return (scaled < 0 ? "-" : "") + String(magnitude / 10) + "." + String(magnitude % 10)
  }
}
