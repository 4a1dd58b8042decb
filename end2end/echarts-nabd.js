// The ECharts Nabd serves: only what the dashboard draws (bar charts on a grid, an axis
// tooltip, a legend, the canvas renderer), bundled by .ci/setup.sh into
// public/assets/vendor/echarts.min.js as a classic script that defines `window.echarts`.
import * as echarts from "echarts/core";
import { BarChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);
window.echarts = echarts;
