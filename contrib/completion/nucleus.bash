# bash completion for nucleus.
#
# The commands and each command's flags are read from the binary's own
# --help (once per shell), so they are always the ones it accepts; container
# names come from `nucleus ps -a --format '{{.Names}}'`. Works with or
# without the bash-completion package.

declare -gA _nucleus_flags=()   # "verb[ sub]" -> its flags
declare -gA _nucleus_meta=()    # "verb[ sub]|flag" -> the value it takes ("" for none)

# Read the flags of `nucleus KEY --help`: option lines are "  -x, --long ARG"
# or "      --long ARG", and a flag takes a value when a name follows it.
_nucleus_load() { # BIN KEY
	local bin=$1 key=$2 line flags="" short long rest meta
	local re_short='^  (-[A-Za-z]), (--[a-z0-9-]+)(.*)$' re_long='^      (--[a-z0-9-]+)(.*)$'
	[[ -n ${_nucleus_flags[$key]+set} ]] && return
	# shellcheck disable=SC2086
	while IFS= read -r line; do
		short="" long="" rest=""
		if [[ $line =~ $re_short ]]; then
			short=${BASH_REMATCH[1]} long=${BASH_REMATCH[2]} rest=${BASH_REMATCH[3]}
		elif [[ $line =~ $re_long ]]; then
			long=${BASH_REMATCH[1]} rest=${BASH_REMATCH[2]}
		else
			continue
		fi
		meta=""
		[[ $rest =~ ^\ ([^\ ]+) ]] && meta=${BASH_REMATCH[1]}
		[[ -n $short ]] && { flags+=" $short"; _nucleus_meta[$key|$short]=$meta; }
		flags+=" $long"
		_nucleus_meta[$key|$long]=$meta
	done < <("$bin" $key --help 2>/dev/null
		 # bundle takes every run flag besides its own
		 [[ $key == bundle ]] && "$bin" run --help 2>/dev/null)
	_nucleus_flags[$key]=$flags
}

_nucleus_commands() { # BIN
	"$1" --help 2>/dev/null | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'
}

_nucleus_containers() { # BIN [all]
	if [[ $2 == all ]]; then
		"$1" ps -a --format '{{.Names}}' 2>/dev/null
	else
		"$1" ps --format '{{.Names}}' 2>/dev/null
	fi
}

_nucleus_files() { # CUR [dirs]
	if declare -F _filedir >/dev/null; then
		if [[ $2 == dirs ]]; then _filedir -d; else _filedir; fi
		return
	fi
	compopt -o filenames 2>/dev/null
	if [[ $2 == dirs ]]; then
		mapfile -t COMPREPLY < <(compgen -d -- "$1")
	else
		mapfile -t COMPREPLY < <(compgen -f -- "$1")
	fi
}

# The values of FLAG of command KEY, from its name or what --help calls it.
_nucleus_values() { # BIN KEY FLAG CUR
	local bin=$1 key=$2 flag=$3 cur=$4 words=""
	case $flag in
	--network) words="none bridge host" ;;
	--context-mode) words="copy bind" ;;
	--seccomp-mode) words="enforce trace" ;;
	--log-opt | --audit-opt) words="max-size= max-file="; compopt -o nospace 2>/dev/null ;;
	--limits) words="enforce best-effort" ;;
	--default-action) words="errno kill" ;;
	-s | --signal) words="HUP INT QUIT KILL USR1 USR2 TERM CONT STOP WINCH" ;;
	--format) words="table json" ;;
	-f | --filter)
		if [[ $key == ps ]]; then
			case $cur in
			status=*) words="status=created status=running status=exited status=dead" ;;
			name=*) mapfile -t COMPREPLY < <(compgen -P name= -W "$(_nucleus_containers "$bin" all)" -- "${cur#name=}"); return ;;
			*) words="name= id= status=" ; compopt -o nospace 2>/dev/null ;;
			esac
		fi ;;
	--type)
		words=$("$bin" audit tail --help 2>/dev/null | sed -n 's/^  \(kernel\|runtime\): *//p') ;;
	*)
		case ${_nucleus_meta[$key|$flag]} in
		FILE | PROFILE | TRACE) _nucleus_files "$cur"; return ;;
		DIR) _nucleus_files "$cur" dirs; return ;;
		esac ;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}

_nucleus() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local bin=${COMP_WORDS[0]} cword=$COMP_CWORD i=1 verb="" key="" w
	local npos=0 dashdash=0 flag=""
	COMPREPLY=()
	command -v "$bin" >/dev/null 2>&1 || bin=nucleus

	# `--flag=value`: bash splits it at '=' (COMP_WORDBREAKS)
	if [[ $cur == = ]]; then
		flag=$prev cur=""
	elif [[ $prev == = && $cword -ge 2 ]]; then
		flag=${COMP_WORDS[cword - 2]}
	fi

	# the command (and the sub-command of seccomp, audit, rootfs and compose)
	while ((i < cword)); do
		w=${COMP_WORDS[i]}
		((i++))
		[[ $w == -* ]] && continue
		verb=$w
		break
	done
	if [[ -z $verb ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_nucleus_commands "$bin") -h --help -v --version" -- "$cur")
		return
	fi
	key=$verb
	case $verb in
	seccomp | audit | rootfs | compose)
		while ((i < cword)); do
			w=${COMP_WORDS[i]}
			((i++))
			# `compose -f FILE up`: the file is no sub-command
			[[ $verb == compose && ($w == -f || $w == --file) ]] && { ((i++)); continue; }
			[[ $w == -* ]] && continue
			key="$verb $w"
			break
		done
		if [[ $key == compose && ($prev == -f || $prev == --file) ]]; then
			_nucleus_files "$cur"
			return
		fi
		if [[ $key == "$verb" ]]; then
			if [[ $verb == seccomp ]]; then
				mapfile -t COMPREPLY < <(compgen -W "trace generate default hash" -- "$cur")
			elif [[ $verb == rootfs ]]; then
				mapfile -t COMPREPLY < <(compgen -W "attest verify" -- "$cur")
			elif [[ $verb == compose ]]; then
				if [[ $cur == -* ]]; then
					mapfile -t COMPREPLY < <(compgen -W "-f --file -h --help" -- "$cur")
				else
					mapfile -t COMPREPLY < <(compgen -W "validate plan up ps logs stop restart down" -- "$cur")
				fi
			else
				mapfile -t COMPREPLY < <(compgen -W "tail" -- "$cur")
			fi
			return
		fi ;;
	esac
	_nucleus_load "$bin" "$key"

	# the words between the command and the cursor: flags, their values,
	# and operands (for run and attach, the first operands end the flags)
	while ((i < cword)); do
		w=${COMP_WORDS[i]}
		((i++))
		if ((dashdash)) || [[ $w != -* ]]; then
			[[ $w == = ]] && { ((i++)); continue; }
			((npos++))
			[[ ($verb == run && npos -ge 1) || ($verb == bundle && npos -ge 1) ||
				($verb == attach && npos -ge 2) ]] && dashdash=1
			continue
		fi
		if [[ $w == -- ]]; then
			dashdash=1
			continue
		fi
		[[ $w != *=* && -n ${_nucleus_meta[$key|$w]} ]] && ((i < cword)) && [[ ${COMP_WORDS[i]} != = ]] && ((i++))
	done

	if [[ -n $flag ]]; then
		_nucleus_values "$bin" "$key" "$flag" "$cur"
		return
	fi
	if ((!dashdash)) && [[ $prev == -* && -n ${_nucleus_meta[$key|$prev]} ]]; then
		_nucleus_values "$bin" "$key" "$prev" "$cur"
		return
	fi
	if ((!dashdash)) && [[ $cur == -* ]]; then
		# shellcheck disable=SC2086
		mapfile -t COMPREPLY < <(compgen -W "${_nucleus_flags[$key]}" -- "$cur")
		return
	fi
	case $key in
	run | bundle)
		if ((npos == 0)); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
		else
			_nucleus_files "$cur"
		fi ;;
	attach)
		if ((npos == 0)); then
			mapfile -t COMPREPLY < <(compgen -W "$(_nucleus_containers "$bin")" -- "$cur")
		elif ((npos == 1)); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
		else
			_nucleus_files "$cur"
		fi ;;
	stop | kill | stats | "seccomp trace")
		mapfile -t COMPREPLY < <(compgen -W "$(_nucleus_containers "$bin")" -- "$cur") ;;
	rm | logs | inspect | "audit tail")
		mapfile -t COMPREPLY < <(compgen -W "$(_nucleus_containers "$bin" all)" -- "$cur") ;;
	"seccomp generate" | "seccomp hash")
		_nucleus_files "$cur" ;;
	"rootfs attest" | "rootfs verify")
		_nucleus_files "$cur" dirs ;;
	"compose plan" | "compose up" | "compose logs")
		# the services of the file given (or ./topology.toml)
		local file="" j
		for ((j = 1; j < cword; j++)); do
			[[ ${COMP_WORDS[j]} == -f || ${COMP_WORDS[j]} == --file ]] && file=${COMP_WORDS[j + 1]}
		done
		mapfile -t COMPREPLY < <(compgen -W "$("$bin" compose ${file:+--file "$file"} validate 2>/dev/null | awk '{ print $1 }')" -- "$cur") ;;
	esac
}

complete -F _nucleus nucleus
