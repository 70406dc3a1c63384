export * from './registry.ts';
export { allowedText, checkParams, describeType, parseParams, schemaProblems, type ParamValue, type ParamsCheck } from './params.ts';
export { wordcount } from './wordcount.ts';
export { grep } from './grep.ts';
export { invertedindex } from './invertedindex.ts';
export { pagerank, pagerankParams, SETUP_ROUNDS, type PageRankParams } from './pagerank/pagerank.ts';
export { WordCounter, countWordsNaive } from './wordcount-kernel.ts';
export { buildGraph, powerIteration, ranksCsv, type Graph, type PageRankOptions, type PageRankResult } from './pagerank/reference.ts';
export { csvField } from './pagerank/ranks-csv.ts';
