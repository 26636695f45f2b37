/**
 * The snapshot formats and compressions by name, and which format compresses itself: the one
 * place these facts live. No encoder is loaded from here, so the settings (and the CDK app that
 * reads them) know the names without the writers.
 */
export const FORMATS = ['ndjson', 'csv', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

export const COMPRESSIONS = ['gzip', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** The compression inside a format's files, for one that compresses itself: such a file is stored as it is, never gzipped. */
export const COMPRESSED_INSIDE: Readonly<Record<Format, 'snappy' | undefined>> = { ndjson: undefined, csv: undefined, parquet: 'snappy' };

/** How a file of `format` is compressed when the run asks for `compression`: Parquet compresses itself. */
export function fileCompression(format: Format, compression: Compression): Compression {
  return COMPRESSED_INSIDE[format] ? 'none' : compression;
}
