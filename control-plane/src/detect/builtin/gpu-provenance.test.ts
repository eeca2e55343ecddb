import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilerName, outputOf } from './gpu-provenance.js';

test('outputOf: the output a compiler or linker names, in each spelling', () => {
  assert.equal(outputOf(['nvcc', '-O3', 'train_gpt2.cu', '-o', 'train_gpt2cu']), 'train_gpt2cu');
  assert.equal(outputOf(['gcc', '-otool', 'tool.c']), 'tool');
  assert.equal(outputOf(['nvcc', '--output-file', 'bin/app', 'a.cu']), 'bin/app');
  assert.equal(outputOf(['nvcc', '--output-file=bin/app', 'a.cu']), 'bin/app');
  assert.equal(outputOf(['gcc', '-c', 'a.c']), undefined);
});

test('compilerName: target prefixes and version suffixes go; other names stay', () => {
  assert.equal(compilerName('x86_64-linux-gnu-gcc-13'), 'gcc');
  assert.equal(compilerName('aarch64-linux-gnu-g++'), 'g++');
  assert.equal(compilerName('clang++-18'), 'clang++');
  assert.equal(compilerName('ld.lld'), 'ld.lld');
  assert.equal(compilerName('nvcc'), 'nvcc');
  assert.equal(compilerName('cargo'), 'cargo');
});
