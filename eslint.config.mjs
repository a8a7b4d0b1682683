// typescript-eslint with type information; workflow code may import only @temporalio/workflow and pure modules.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.testenv/**',
      '.demo/**',
      'test-artifacts/**',
      'charts/**',
      '*.mjs',
      'bin/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  {
    // Tests read raw API objects as JSON.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Deterministic code: no Node built-ins, no I/O modules, activities by type only.
    files: [
      'src/workflows/**/*.ts',
      'src/core/decide.ts',
      'src/core/status.ts',
      'src/core/fluxState.ts',
      'src/core/conflicts.ts',
      'src/core/events.ts',
      'src/core/selector.ts',
      'src/core/duration.ts',
      'src/core/types.ts',
      'src/api/constants.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must be deterministic: no Node built-ins.',
          })),
          patterns: [
            {
              group: [
                'zod',
                'yaml',
                'pino',
                'prom-client',
                '@kubernetes/*',
                '@temporalio/activity',
                '@temporalio/client',
                '@temporalio/worker',
              ],
              message: 'Not allowed in workflow code.',
            },
            {
              group: ['**/activities/*', '**/activities'],
              allowTypeImports: true,
              message: 'Workflows import activity types only.',
            },
            {
              group: [
                '**/kube/*',
                '**/testenv/*',
                '**/watcher/*',
                '**/commands/*',
                '**/core/plan',
                '**/core/names',
                '**/core/values',
                '**/core/providerConfig',
                '**/api/k0rdent',
                '**/api/flux',
              ],
              allowTypeImports: true,
              message: 'Only pure, workflow-safe modules.',
            },
          ],
        },
      ],
    },
  },
);
