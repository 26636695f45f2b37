/** The package's entry: the construct for your own CDK app, its props, and this repository's stack. */
export { EsimExport, type EsimExportProps, type FilterProps } from './esim-export';
export { EsimExportStack, type EsimExportStackProps } from './esim-export-stack';
