// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.scratch/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked, ...tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself tracks.
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Pure folders and codecs (DESIGN: "take bytes, lines or records and return values"):
    // no sockets, files, child processes or process state, so they are tested without I/O
    // and reused by every front end. I/O lives at the edges.
    files: [
      'src/proxy/routing/**/*.ts',
      'src/proxy/pipeline/**/*.ts',
      'src/proxy/balancers/**/*.ts',
      'src/proxy/discovery/upstream-source.ts',
      'src/proxy/reload/listener-plan.ts',
      'src/proxy/reload/config-diff.ts',
      'src/proxy/middleware/feature.ts',
      'src/proxy/middleware/*/schema.ts',
      'src/shared/clock.ts',
      'src/shared/cidr-matcher.ts',
      'src/shared/ip-address.ts',
      'src/proxy/h1/head.ts',
      'src/proxy/h1/chunked.ts',
      'src/proxy/h1/chunk-queue.ts',
      'src/proxy/h2/frames.ts',
      'src/proxy/h2/hpack*.ts',
      'src/proxy/h2/request-check.ts',
      'src/net/framing/**/*.ts',
      'src/explain/analyze/**/*.ts',
      'src/explain/text/**/*.ts',
      'src/conns/parse-proc-net.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^(node:)?(net|http|https|http2|tls|dgram|dns|fs|fs/promises|child_process|worker_threads|cluster)$',
              message: 'a pure module does no I/O: take bytes or records as arguments instead',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'a pure module reads no process state: pass it in' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        performance: 'readonly',
      },
    },
  },
);
