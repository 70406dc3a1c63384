export * from './registry.ts';
export { wordcount } from './wordcount.ts';
export { grep } from './grep.ts';
export { invertedindex } from './invertedindex.ts';
export { WordCounter, countWordsNaive } from './wordcount-kernel.ts';
export { buildGraph, powerIteration, ranksCsv, type Graph, type PageRankOptions, type PageRankResult } from './pagerank-reference.ts';
