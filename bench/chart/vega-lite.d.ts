// vega-lite publishes its types only through package.json "exports", which this
// project's moduleResolution ("node", for the CommonJS build) does not read; this
// points the bare name at the same declarations by path.
declare module 'vega-lite' {
  export * from 'vega-lite/build/index';
}
