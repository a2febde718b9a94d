package io.weightpub.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** PNG charts of the report, drawn headless with XChart. */
public final class Plots {

    static final int WIDTH = 1000;
    static final int HEIGHT = 560;

    private Plots() {}

    /** Grouped bars: one group per category, one bar per series. */
    public static Path bars(Path file, String title, String yTitle, List<String> categories,
            Map<String, List<Double>> series, boolean stacked) throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("")
                .yAxisTitle(yTitle).build();
        Styler styler = chart.getStyler();
        chart.getStyler().setStacked(stacked);
        chart.getStyler().setOverlapped(false);
        // a stacked chart has many series: a vertical legend on the right never gets cut off
        chart.getStyler().setLegendPosition(stacked ? Styler.LegendPosition.OutsideE : Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(stacked ? Styler.LegendLayout.Vertical : Styler.LegendLayout.Horizontal);
        chart.getStyler().setLabelsVisible(!stacked);
        chart.getStyler().setLabelsFontColorAutomaticEnabled(false);
        chart.getStyler().setLabelsFontColor(java.awt.Color.DARK_GRAY);
        chart.getStyler().setLabelsPosition(0.98);
        chart.getStyler().setLabelsFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 11));
        double max = series.values().stream().flatMap(List::stream).filter(v -> v != null && !v.isNaN())
                .mapToDouble(Double::doubleValue).max().orElse(0);
        chart.getStyler().setDecimalPattern(max >= 50 ? "#,##0" : "#,##0.##");
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
        styler.setChartTitleFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.BOLD, 15));
        series.forEach((name, values) -> {
            List<Number> ys = new ArrayList<>();
            for (Double v : values) {
                ys.add(v == null || Double.isNaN(v) ? 0.0 : v);
            }
            chart.addSeries(name, categories, ys);
        });
        BitmapEncoder.saveBitmapWithDPI(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG, 110);
        return file;
    }

    /** Lines over a numeric x axis; series named in {@code secondAxis} use a right-hand axis. */
    public static Path lines(Path file, String title, String xTitle, String yTitle, double[] x,
            Map<String, double[]> series, Map<String, double[]> secondAxis, String secondTitle) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setDecimalPattern("#,##0.##");
        chart.getStyler().setChartTitleFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.BOLD, 15));
        series.forEach((name, ys) -> chart.addSeries(name, x, ys).setMarker(SeriesMarkers.CIRCLE));
        if (!secondAxis.isEmpty()) {
            secondAxis.forEach((name, ys) -> {
                XYSeries s = chart.addSeries(name, x, ys);
                s.setMarker(SeriesMarkers.DIAMOND);
                s.setYAxisGroup(1);
            });
            chart.setYAxisGroupTitle(0, yTitle);
            chart.setYAxisGroupTitle(1, secondTitle);
            chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
            chart.getStyler().setYAxisMin(1, 0.0);
        }
        BitmapEncoder.saveBitmapWithDPI(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG, 110);
        return file;
    }

    /** An ordered map, for building series in code. */
    public static <V> Map<String, V> ordered() {
        return new LinkedHashMap<>();
    }
}
